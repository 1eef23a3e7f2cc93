"""Where records go: flow files now; database backends later."""
