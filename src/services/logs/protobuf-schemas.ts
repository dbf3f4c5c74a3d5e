import protobuf from 'protobufjs';

/**
 * The protobuf messages shippers send, as protobufjs types:
 * - OTLP/HTTP logs (`opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest`), the subset of
 *   opentelemetry-proto v1 (common, resource, logs, collector/logs) that log ingest reads. Fields
 *   left out (dropped counts, flags, entity refs, schema URLs) are unknown fields to the decoder and
 *   skipped, as protobuf allows.
 * - Loki's push API (`logproto.PushRequest` of Loki's push.proto): streams of a label-selector
 *   string and entries with a google.protobuf.Timestamp, the line and structured metadata.
 *
 * Written here from the published .proto field numbers: no package on npm ships these .proto files
 * for the current protocol (OpenTelemetry JS stopped shipping its generated module in
 * otlp-transformer 0.218 and now serialises by hand), and Loki publishes none to npm. The OTLP part
 * is checked field by field against the official OpenTelemetry JS protobuf serialiser in
 * tests/integration/logs-protobuf.test.ts.
 *
 * Cloudflare Workers refuse code generation from strings while serving a request, and protobufjs
 * generates each type's codec with `Function` on first use; every type is therefore set up here,
 * while the module loads, which Workers allow (the worker test ingests protobuf in workerd).
 */

const COMMON = `
syntax = "proto3";
package opentelemetry.proto.common.v1;
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
`;

const RESOURCE = `
syntax = "proto3";
package opentelemetry.proto.resource.v1;
message Resource { repeated opentelemetry.proto.common.v1.KeyValue attributes = 1; }
`;

const LOGS = `
syntax = "proto3";
package opentelemetry.proto.logs.v1;
message ResourceLogs {
  opentelemetry.proto.resource.v1.Resource resource = 1;
  repeated ScopeLogs scope_logs = 2;
}
message ScopeLogs {
  opentelemetry.proto.common.v1.InstrumentationScope scope = 1;
  repeated LogRecord log_records = 2;
}
message LogRecord {
  fixed64 time_unix_nano = 1;
  fixed64 observed_time_unix_nano = 11;
  int32 severity_number = 2;
  string severity_text = 3;
  opentelemetry.proto.common.v1.AnyValue body = 5;
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 6;
  bytes trace_id = 9;
  bytes span_id = 10;
  string event_name = 12;
}
`;

const COLLECTOR = `
syntax = "proto3";
package opentelemetry.proto.collector.logs.v1;
message ExportLogsServiceRequest { repeated opentelemetry.proto.logs.v1.ResourceLogs resource_logs = 1; }
`;

const TIMESTAMP = `
syntax = "proto3";
package google.protobuf;
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
`;

const LOKI_PUSH = `
syntax = "proto3";
package logproto;
message PushRequest { repeated StreamAdapter streams = 1; }
message StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
message EntryAdapter {
  google.protobuf.Timestamp timestamp = 1;
  string line = 2;
  repeated LabelPairAdapter structuredMetadata = 3;
}
message LabelPairAdapter { string name = 1; string value = 2; }
`;

function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  for (const text of [COMMON, RESOURCE, LOGS, COLLECTOR, TIMESTAMP, LOKI_PUSH])
    protobuf.parse(text, root, { keepCase: false });
  root.resolveAll();
  const visit = (namespace: protobuf.NamespaceBase) => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Type) nested.setup();
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(root);
  return root;
}

const root = buildRoot();

export const ExportLogsServiceRequest = root.lookupType(
  'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
);
export const LokiPushRequest = root.lookupType('logproto.PushRequest');
