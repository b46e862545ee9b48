"""Kazoo layer: wire models (`models`), login (`auth`), REST (`rest`), websocket (`stream`), and
translation to domain events (`translate`). Import from the submodules; nothing is re-exported here
so that importing one of them never drags in the others."""
