"""The simulated AWS server fixtures (lab_url, lab) are shared with tests/integration/lab_server."""

from tests.integration.lab_server.conftest import aws, lab, lab_url  # noqa: F401
