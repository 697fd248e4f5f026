"""Official GitHub example bodies (MIT, see LICENSE) the simulator deep-copies as templates."""
