"""Gymnasium environments: desktop, virtual desktop, browser, remote VM, tasks."""
