"""AWS on loopback: the moto server (server), every patch it installs (patches/), and the resources the
template declares, created in it (resources)."""
