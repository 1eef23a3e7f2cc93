"""Host visibility: listening ports and their risk, service names, system metrics, bandwidth."""
