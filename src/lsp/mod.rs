//! `flowc lsp`: the language server. The only module that knows LSP: it reads requests and
//! notifications, converts positions at the edge (`from_proto`, `to_proto`) and calls the
//! protocol-free features in [`crate::ide`].
//!
//! The loop is synchronous and owns its state (`HashMap<Uri, Document>`): messages are handled in the
//! order they arrive, so a `didChange` is always seen before the request that follows it. Each open
//! or changed document is checked in full (a 1,000-line file takes a few milliseconds) and its
//! diagnostics published. A request that panics gets an error response; the server keeps running.

mod from_proto;
mod to_proto;

use crate::ide::{self, Document};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types as lsp;
use lsp_types::notification::Notification as _;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Serves LSP over stdin/stdout until the client says `exit`. Returns the process exit code:
/// 0 after `shutdown` then `exit`, 1 when the client exits or disappears without `shutdown`.
pub fn run_stdio() -> i32 {
    let (connection, io_threads) = Connection::stdio();
    match run(connection) {
        Ok(Ending::Shutdown) => match io_threads.join() {
            Ok(()) => 0,
            Err(err) => {
                eprintln!("flowc lsp: {err}");
                1
            }
        },
        // The reader thread may still wait on stdin: leave without joining it.
        Ok(Ending::Abrupt) => 1,
        Err(err) => {
            eprintln!("flowc lsp: {err}");
            1
        }
    }
}

/// How the conversation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// `shutdown` then `exit`, as the protocol asks.
    Shutdown,
    /// `exit` without `shutdown`, or the client went away.
    Abrupt,
}

/// Runs the server on a connection (stdio in production, `Connection::memory()` in tests and benches).
pub fn run(connection: Connection) -> Result<Ending, Error> {
    let capabilities = serde_json::to_value(capabilities())?;
    connection.initialize(capabilities)?;
    let mut server = Server { documents: HashMap::new() };
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    return Ok(Ending::Shutdown);
                }
                let response = server.request(request);
                connection.sender.send(Message::Response(response))?;
            }
            Message::Notification(notification) => {
                if notification.method == lsp::notification::Exit::METHOD {
                    return Ok(Ending::Abrupt);
                }
                for outgoing in server.notification(notification) {
                    connection.sender.send(Message::Notification(outgoing))?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(Ending::Abrupt)
}

/// What `flowc lsp` can do, as told to the client in `initialize`.
pub fn capabilities() -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        position_encoding: Some(lsp::PositionEncodingKind::UTF16),
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Kind(lsp::TextDocumentSyncKind::FULL)),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some([".", ">", "=", "|"].map(String::from).to_vec()),
            ..Default::default()
        }),
        definition_provider: Some(lsp::OneOf::Left(true)),
        references_provider: Some(lsp::OneOf::Left(true)),
        rename_provider: Some(lsp::OneOf::Right(lsp::RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Options(lsp::CodeActionOptions {
            code_action_kinds: Some(vec![lsp::CodeActionKind::QUICKFIX]),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// The server's state: the open documents, each checked.
struct Server {
    documents: HashMap<lsp::Uri, Document>,
}

/// A failed request: an LSP error code and a message for the user.
struct Failure(ErrorCode, String);

impl Server {
    fn request(&mut self, request: Request) -> Response {
        let id = request.id.clone();
        let method = request.method.clone();
        match catch_unwind(AssertUnwindSafe(|| self.dispatch(request))) {
            Ok(Ok(value)) => Response { id, response_result: Ok(value) },
            Ok(Err(Failure(code, message))) => Response::new_err(id, code as i32, message),
            Err(_) => internal_error(id, &method),
        }
    }

    fn dispatch(&mut self, request: Request) -> Result<serde_json::Value, Failure> {
        use lsp::request::*;
        let method = request.method.clone();
        let value = match method.as_str() {
            HoverRequest::METHOD => {
                let params: lsp::HoverParams = params(request)?;
                let at = &params.text_document_position_params;
                self.with_document(&at.text_document.uri, |doc| {
                    let offset = from_proto::offset(doc, at.position);
                    ide::hover(doc, offset).map(|h| to_proto::hover(doc, h))
                })
            }
            Completion::METHOD => {
                let params: lsp::CompletionParams = params(request)?;
                let at = &params.text_document_position;
                self.with_document(&at.text_document.uri, |doc| {
                    let offset = from_proto::offset(doc, at.position);
                    let items = ide::completions(doc, offset);
                    lsp::CompletionResponse::Array(
                        items.into_iter().map(|c| to_proto::completion_item(doc, c)).collect(),
                    )
                })
            }
            GotoDefinition::METHOD => {
                let params: lsp::GotoDefinitionParams = params(request)?;
                let at = &params.text_document_position_params;
                let uri = &at.text_document.uri;
                self.with_document(uri, |doc| {
                    let offset = from_proto::offset(doc, at.position);
                    ide::definition(doc, offset)
                        .map(|span| lsp::GotoDefinitionResponse::Scalar(to_proto::location(doc, uri, span)))
                })
            }
            References::METHOD => {
                let params: lsp::ReferenceParams = params(request)?;
                let at = &params.text_document_position;
                let uri = &at.text_document.uri;
                self.with_document(uri, |doc| {
                    let offset = from_proto::offset(doc, at.position);
                    let spans = ide::references(doc, offset, params.context.include_declaration);
                    spans.into_iter().map(|span| to_proto::location(doc, uri, span)).collect::<Vec<_>>()
                })
            }
            PrepareRenameRequest::METHOD => {
                let params: lsp::TextDocumentPositionParams = params(request)?;
                self.with_document(&params.text_document.uri, |doc| {
                    let offset = from_proto::offset(doc, params.position);
                    ide::prepare_rename(doc, offset)
                        .map(|span| lsp::PrepareRenameResponse::Range(to_proto::range(doc, span)))
                })
            }
            Rename::METHOD => {
                let params: lsp::RenameParams = params(request)?;
                let at = &params.text_document_position;
                let uri = &at.text_document.uri;
                let Some(doc) = self.documents.get(uri) else { return Ok(serde_json::Value::Null) };
                let offset = from_proto::offset(doc, at.position);
                let edits = ide::rename(doc, offset, &params.new_name)
                    .map_err(|err| Failure(ErrorCode::RequestFailed, err.to_string()))?;
                let edits = edits.into_iter().map(|e| (e.span, e.new_text)).collect();
                Some(serde_json::to_value(to_proto::workspace_edit(doc, uri, edits)).unwrap_or_default())
            }
            DocumentSymbolRequest::METHOD => {
                let params: lsp::DocumentSymbolParams = params(request)?;
                self.with_document(&params.text_document.uri, |doc| {
                    let symbols = ide::document_symbols(doc);
                    lsp::DocumentSymbolResponse::Nested(
                        symbols.into_iter().map(|s| to_proto::document_symbol(doc, s)).collect(),
                    )
                })
            }
            Formatting::METHOD => {
                let params: lsp::DocumentFormattingParams = params(request)?;
                let uri = &params.text_document.uri;
                self.with_document(uri, |doc| {
                    ide::format(doc).map(|edits| {
                        edits
                            .into_iter()
                            .map(|e| lsp::TextEdit { range: to_proto::range(doc, e.span), new_text: e.new_text })
                            .collect::<Vec<_>>()
                    })
                })
            }
            CodeActionRequest::METHOD => {
                let params: lsp::CodeActionParams = params(request)?;
                let uri = &params.text_document.uri;
                self.with_document(uri, |doc| code_actions(doc, uri, params.range))
            }
            _ => return Err(Failure(ErrorCode::MethodNotFound, format!("flowc lsp does not handle `{method}`"))),
        };
        Ok(value.unwrap_or(serde_json::Value::Null))
    }

    /// Runs `f` on an open document and serializes its answer; `None` (JSON null) for an unknown document.
    fn with_document<T: serde::Serialize>(
        &self,
        uri: &lsp::Uri,
        f: impl FnOnce(&Document) -> T,
    ) -> Option<serde_json::Value> {
        let doc = self.documents.get(uri)?;
        serde_json::to_value(f(doc)).ok()
    }

    /// Handles a notification; returns the notifications to send (diagnostics).
    fn notification(&mut self, notification: Notification) -> Vec<Notification> {
        use lsp::notification::*;
        let method = notification.method.clone();
        let outcome = catch_unwind(AssertUnwindSafe(|| match method.as_str() {
            DidOpenTextDocument::METHOD => {
                let params: lsp::DidOpenTextDocumentParams = notification.extract(&method).ok()?;
                let doc = params.text_document;
                Some(self.update(doc.uri, doc.text, Some(doc.version)))
            }
            DidChangeTextDocument::METHOD => {
                let params: lsp::DidChangeTextDocumentParams = notification.extract(&method).ok()?;
                let doc = params.text_document;
                let mut text = self.documents.get(&doc.uri).map(|d| d.text.clone()).unwrap_or_default();
                for change in params.content_changes {
                    apply_change(&mut text, change);
                }
                Some(self.update(doc.uri, text, Some(doc.version)))
            }
            DidCloseTextDocument::METHOD => {
                let params: lsp::DidCloseTextDocumentParams = notification.extract(&method).ok()?;
                let uri = params.text_document.uri;
                self.documents.remove(&uri);
                Some(vec![publish(uri, Vec::new(), None)])
            }
            _ => None,
        }));
        match outcome {
            Ok(Some(outgoing)) => outgoing,
            Ok(None) => Vec::new(),
            Err(_) => {
                eprintln!("flowc lsp: handling `{method}` panicked");
                Vec::new()
            }
        }
    }

    /// Checks the new text and returns its diagnostics to publish, and those of every open tests
    /// file that names it as its pipeline (checked again against the new text).
    fn update(&mut self, uri: lsp::Uri, text: String, version: Option<i32>) -> Vec<Notification> {
        let mut out = vec![self.check(uri.clone(), text, version)];
        let Some(path) = ide::file_path(uri.as_str()) else { return out };
        let dependents: Vec<(lsp::Uri, String)> = self
            .documents
            .iter()
            .filter(|(u, doc)| {
                let at = ide::file_path(u.as_str());
                *u != &uri && ide::named_pipeline(doc, at.as_deref()).is_some_and(|p| p == path)
            })
            .map(|(u, doc)| (u.clone(), doc.text.clone()))
            .collect();
        for (dependent, text) in dependents {
            out.push(self.check(dependent, text, None));
        }
        out
    }

    /// Checks one document (a tests file against its pipeline, open or on disk) and keeps it.
    fn check(&mut self, uri: lsp::Uri, text: String, version: Option<i32>) -> Notification {
        let path = ide::file_path(uri.as_str());
        let open = |p: &std::path::Path| {
            self.documents
                .iter()
                .find(|(u, _)| ide::file_path(u.as_str()).is_some_and(|q| q == p))
                .map(|(_, d)| d.text.clone())
        };
        let doc = ide::document_at(text, path.as_deref(), open);
        let diagnostics = doc.diagnostics().iter().map(|d| to_proto::diagnostic(&doc, &uri, d)).collect();
        self.documents.insert(uri.clone(), doc);
        publish(uri, diagnostics, version)
    }
}

/// Applies one content change: the whole text (full sync, what the server asks for), or a range of it
/// (for clients that send incremental changes anyway).
fn apply_change(text: &mut String, change: lsp::TextDocumentContentChangeEvent) {
    match change.range {
        None => *text = change.text,
        Some(range) => {
            let index = ide::LineIndex::new(text);
            let at = |p: lsp::Position| index.offset(text, ide::LineCol { line: p.line, col: p.character });
            let (start, end) = (at(range.start), at(range.end));
            text.replace_range(start.min(end)..start.max(end), &change.text);
        }
    }
}

fn publish(uri: lsp::Uri, diagnostics: Vec<lsp::Diagnostic>, version: Option<i32>) -> Notification {
    Notification::new(
        lsp::notification::PublishDiagnostics::METHOD.to_string(),
        lsp::PublishDiagnosticsParams { uri, diagnostics, version },
    )
}

/// "Did you mean" fixes for the diagnostics that touch `range`.
fn code_actions(doc: &Document, uri: &lsp::Uri, range: lsp::Range) -> Vec<lsp::CodeActionOrCommand> {
    let wanted = from_proto::span(doc, range);
    doc.diagnostics()
        .iter()
        .filter(|d| d.primary.span.start <= wanted.end && wanted.start <= d.primary.span.end)
        .filter_map(|d| {
            let fix = ide::quick_fix(&doc.text, d)?;
            Some(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                title: fix.title,
                kind: Some(lsp::CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![to_proto::diagnostic(doc, uri, d)]),
                edit: Some(to_proto::workspace_edit(doc, uri, vec![(fix.span, fix.replacement)])),
                is_preferred: Some(true),
                ..Default::default()
            }))
        })
        .collect()
}

fn params<P: serde::de::DeserializeOwned>(request: Request) -> Result<P, Failure> {
    let method = request.method.clone();
    request.extract(&method).map(|(_, params)| params).map_err(|err| Failure(ErrorCode::InvalidParams, err.to_string()))
}

fn internal_error(id: RequestId, method: &str) -> Response {
    Response::new_err(
        id,
        ErrorCode::InternalError as i32,
        format!("flowc lsp failed on `{method}` (a bug: please report it)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(range: Option<((u32, u32), (u32, u32))>, text: &str) -> lsp::TextDocumentContentChangeEvent {
        lsp::TextDocumentContentChangeEvent {
            range: range.map(|((l1, c1), (l2, c2))| lsp::Range {
                start: lsp::Position { line: l1, character: c1 },
                end: lsp::Position { line: l2, character: c2 },
            }),
            range_length: None,
            text: text.to_string(),
        }
    }

    #[test]
    fn full_and_incremental_changes_apply() {
        let mut text = String::from("old");
        apply_change(&mut text, change(None, "// 日志\nweb -> ot\n"));
        assert_eq!(text, "// 日志\nweb -> ot\n");
        // Columns are UTF-16 units: `// 日志` is 5 of them.
        apply_change(&mut text, change(Some(((0, 5), (0, 5))), "!"));
        apply_change(&mut text, change(Some(((1, 7), (1, 9))), "out"));
        assert_eq!(text, "// 日志!\nweb -> out\n");
    }
}
