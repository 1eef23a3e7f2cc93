"""The engine: packets in, flow records with L7 facts out."""
