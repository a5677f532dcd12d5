"""Data the project fetches rather than ships: real camera footage for the demo and tests."""
