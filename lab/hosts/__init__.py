"""The lab's container hosts: podman containers for the instances tagged `lab:host`, EBS volumes as loop
devices, the seeded data, and the traffic edge that carries EIP traffic to the containers."""
