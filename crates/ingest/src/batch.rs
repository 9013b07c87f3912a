//! Events to Arrow record batches in the store's schema.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
    UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use tracehound_schema::features::TextFeatures;
use tracehound_schema::{arrow_schema, Event};

/// Builds one batch from events of one file. Bytes are copied once, here, in the parallel stage.
pub(crate) fn to_batch(events: &[&Event], file: &str, format: &str) -> RecordBatch {
    let n = events.len();
    let text_bytes: usize = events
        .iter()
        .map(|e| e.content.as_ref().map_or(0, String::len) + e.args.as_ref().map_or(0, String::len))
        .sum();
    let mut session = StringBuilder::with_capacity(n, n * 24);
    let mut seq = UInt32Builder::with_capacity(n);
    let mut ts = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut event_id = StringBuilder::new();
    let mut parent_id = StringBuilder::new();
    let mut kind = StringBuilder::new();
    let mut role = StringBuilder::new();
    let mut user_id = StringBuilder::new();
    let mut agent_id = StringBuilder::new();
    let mut model = StringBuilder::new();
    let mut provider = StringBuilder::new();
    let mut tool_name = StringBuilder::new();
    let mut call_id = StringBuilder::new();
    let mut link_method = StringBuilder::new();
    let mut args = StringBuilder::new();
    let mut content = StringBuilder::with_capacity(n, text_bytes);
    let mut is_error = BooleanBuilder::with_capacity(n);
    let mut input_tokens = Int64Builder::with_capacity(n);
    let mut output_tokens = Int64Builder::with_capacity(n);
    let mut cost = Float64Builder::with_capacity(n);
    let mut source_format = StringBuilder::new();
    let mut source_file = StringBuilder::new();
    let mut source_line = UInt64Builder::with_capacity(n);
    let mut source_offset = UInt64Builder::with_capacity(n);
    let mut source_pointer = StringBuilder::new();
    let mut attributes = StringBuilder::new();
    let mut message_id = StringBuilder::new();
    let mut features = UInt64Builder::with_capacity(n);
    for e in events {
        session.append_value(&e.session_id);
        seq.append_value(e.seq);
        ts.append_option(e.ts);
        event_id.append_option(e.event_id.as_deref());
        parent_id.append_option(e.parent_id.as_deref());
        kind.append_value(e.kind.as_str());
        role.append_option(e.role.as_deref());
        user_id.append_option(e.user_id.as_deref());
        agent_id.append_option(e.agent_id.as_deref());
        model.append_option(e.model.as_deref());
        provider.append_option(e.provider.as_deref());
        tool_name.append_option(e.tool_name.as_deref());
        call_id.append_option(e.call_id.as_deref());
        link_method.append_option(e.link_method.map(|l| l.as_str()));
        args.append_option(e.args.as_deref());
        content.append_option(e.content.as_deref());
        is_error.append_option(e.is_error);
        input_tokens.append_option(e.input_tokens);
        output_tokens.append_option(e.output_tokens);
        cost.append_option(e.cost_usd);
        source_format.append_value(format);
        source_file.append_value(file);
        source_line.append_option(e.source_line);
        source_offset.append_value(e.source_offset);
        source_pointer.append_value(&e.source_pointer);
        attributes.append_option(e.attributes.as_deref());
        message_id.append_option(e.message_id.as_deref());
        // The detectors' literal passes, once, here in the parallel stage, instead of in every scan.
        features.append_value(
            TextFeatures::of(e.kind.as_str(), e.content.as_deref(), e.args.as_deref()).encode(),
        );
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(session.finish()),
        Arc::new(seq.finish()),
        Arc::new(ts.finish()),
        Arc::new(event_id.finish()),
        Arc::new(parent_id.finish()),
        Arc::new(kind.finish()),
        Arc::new(role.finish()),
        Arc::new(user_id.finish()),
        Arc::new(agent_id.finish()),
        Arc::new(model.finish()),
        Arc::new(provider.finish()),
        Arc::new(tool_name.finish()),
        Arc::new(call_id.finish()),
        Arc::new(link_method.finish()),
        Arc::new(args.finish()),
        Arc::new(content.finish()),
        Arc::new(is_error.finish()),
        Arc::new(input_tokens.finish()),
        Arc::new(output_tokens.finish()),
        Arc::new(cost.finish()),
        Arc::new(source_format.finish()),
        Arc::new(source_file.finish()),
        Arc::new(source_line.finish()),
        Arc::new(source_offset.finish()),
        Arc::new(source_pointer.finish()),
        Arc::new(attributes.finish()),
        Arc::new(message_id.finish()),
        Arc::new(features.finish()),
    ];
    RecordBatch::try_new(arrow_schema(), columns)
        .expect("builders match the schema by construction")
}
