"""OUR VM-side server (`python -m environments.vm_server.server`): a separate program the client side never imports."""
