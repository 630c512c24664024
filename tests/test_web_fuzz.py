"""Fuzz the HTTP API from its own OpenAPI schema (schemathesis strategies, driven by
hypothesis): no generated request may give a server error."""

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lunatlas.web import create_app


@pytest.fixture(scope="module")
def operations(built_atlas, tmp_path_factory):
    atlas = tmp_path_factory.mktemp("fuzz") / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    app = create_app(atlas)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    ops = [result.ok() for result in schema.get_all_operations()]
    assert len(ops) >= 10
    return ops


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(data=st.data())
def test_no_server_errors(operations, data):
    operation = data.draw(st.sampled_from(operations))
    case = data.draw(operation.as_strategy())
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, case.query,
                                        response.text[:300])
