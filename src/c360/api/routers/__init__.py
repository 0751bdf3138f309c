"""One router per domain; handlers stay thin and call the workspace façade."""
