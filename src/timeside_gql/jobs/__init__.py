"""Execution: Dramatiq broker and actors, the task → job → result lifecycle, the event bus."""
