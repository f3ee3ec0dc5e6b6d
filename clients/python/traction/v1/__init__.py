# SPDX-License-Identifier: Apache-2.0
"""The protobuf modules of proto/traction/v1, generated when the package is
built (protoc); the names are the .proto files': common_pb2, bus_pb2,
events_pb2, supply_pb2, scenario_pb2, feedback_pb2, iteration_pb2, notify_pb2."""
