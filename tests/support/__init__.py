"""Test infrastructure shared by the test tiers: servers and fault injectors the tests start."""
