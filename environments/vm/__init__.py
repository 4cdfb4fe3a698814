"""Virtual machines the harness manages: providers (qemu, url, docker), per-task revert, our guest image."""
