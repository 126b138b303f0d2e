"""The volunteers REST API, one module per subject; each lists its routes in `ROUTES`."""
