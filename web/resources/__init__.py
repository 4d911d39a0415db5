"""One resource class per noun; thin: parse, call a service, shape the envelope."""
