"""The seeded synthetic review (generator); writes the Cochrane format through the data layer."""
