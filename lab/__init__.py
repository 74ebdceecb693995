"""The lab: a simulated AWS account (lab.awssim), its world and scenarios, and the container hosts."""
