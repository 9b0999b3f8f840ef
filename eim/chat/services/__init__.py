"""Every chat write goes through these services: REST, socket, console and commands alike."""
