"""Twinfield: OAuth login host and accounting cluster (ProcessXml, Finder, Session SOAP services) in one."""
