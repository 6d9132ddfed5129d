"""OVITO modifiers (registered under the OVITO.Modifier entry point group)."""
