"""Reading and checking loss configs: positioned YAML, entry forms, params against their classes."""
