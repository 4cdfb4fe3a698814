"""Trajectories: the records, their store on disk, the JSON Schema and the OSWorld importer."""
