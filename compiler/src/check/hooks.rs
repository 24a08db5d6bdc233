//! The connectors' own checks: each connector node's [`CheckHook`](crate::builtins::CheckHook), called
//! through the registry once the graph's types are known.

use super::build::Builder;
use super::Ctx;
use crate::builtins::NodeCheck;
use petgraph::Direction;

/// Runs the check hook of every source, channel and sink that has one.
pub(crate) fn run(ctx: &mut Ctx, builder: &Builder) {
    let graph = &builder.graph;
    for index in graph.node_indices() {
        let node = &graph[index];
        let (Some(connector), Some(options)) = (node.kind.connector(), node.kind.options()) else { continue };
        let Some(hook) = connector.check else { continue };
        // As the stream checks see it: the first pipeline written into the node sets its type.
        let mut incoming: Vec<_> = graph.edges_directed(index, Direction::Incoming).collect();
        incoming.sort_by_key(|e| e.weight().span.start);
        let input = incoming.iter().find_map(|e| e.weight().ty.as_ref());
        let check = NodeCheck {
            name: &node.name,
            span: node.span,
            options,
            written: builder.written_options.get(&index).copied(),
            input,
        };
        hook(&check, &mut ctx.diags);
    }
}
