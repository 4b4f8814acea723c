//! A fake GitLab API on loopback: the notes API, for the tests of the merge request note, and the
//! commits API, for `grove new --commit`. It answers as GitLab does (pages of notes,
//! `X-Next-Page`, 401 for another token; a commit whose actions all apply or none, 400 for a file
//! that is already there) and records every request. It stands in for GitLab's API server,
//! which cannot run here.
#![allow(dead_code)]

use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

/// One recorded request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    /// The path and query, as sent.
    pub target: String,
    /// The PRIVATE-TOKEN header.
    pub token: Option<String>,
    /// The Content-Type header.
    pub content_type: Option<String>,
    /// The body, read as JSON (`null` when empty).
    pub body: Value,
}

/// A note as the fake keeps it.
#[derive(Debug, Clone)]
pub struct Note {
    pub id: u64,
    pub author: u64,
    pub system: bool,
    pub body: String,
}

/// A file on a branch: its bytes, and whether it is executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub bytes: Vec<u8>,
    pub executable: bool,
}

/// The fake's state: the notes of merge request !5 of project 42, the files of project 42's
/// branches, what it answers with, and every request.
pub struct State {
    pub notes: Vec<Note>,
    pub next_id: u64,
    /// Each branch of project 42 (`main` and `release`), its files by path.
    pub branches: BTreeMap<String, BTreeMap<String, File>>,
    /// When set, every write (POST, PUT) is answered with this status.
    pub refuse_writes: Option<u16>,
    pub requests: Vec<Request>,
}

/// The token's user.
pub const ME: u64 = 7;
/// Notes per page (small, so that the client must follow `X-Next-Page`).
pub const PAGE: usize = 2;
pub const NOTES: &str = "/api/v4/projects/42/merge_requests/5/notes";
pub const COMMITS: &str = "/api/v4/projects/42/repository/commits";
/// The id of every commit the fake makes.
pub const COMMIT_ID: &str = "6104942438c14ec7bd21c6cd5bd995272b3faff6";

pub struct FakeGitLab {
    pub api: String,
    pub state: Arc<Mutex<State>>,
}

impl FakeGitLab {
    /// A fake with three notes already on the merge request: a person's, a system note, and
    /// another user's note that quotes Grove's marker (none of them may be touched).
    pub fn start() -> FakeGitLab {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let api = format!("http://{}/api/v4", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            notes: vec![
                Note {
                    id: 100,
                    author: 3,
                    system: false,
                    body: "Looks good to me".into(),
                },
                Note {
                    id: 101,
                    author: ME,
                    system: true,
                    body: "added 1 commit <!-- grove-plan: grove-plan -->".into(),
                },
                Note {
                    id: 102,
                    author: 3,
                    system: false,
                    body: "Quoting Grove: <!-- grove-plan: grove-plan -->".into(),
                },
            ],
            next_id: 200,
            branches: ["main", "release"]
                .into_iter()
                .map(|b| (b.to_string(), BTreeMap::new()))
                .collect(),
            refuse_writes: None,
            requests: Vec::new(),
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = shared.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        FakeGitLab { api, state }
    }

    pub fn requests(&self) -> Vec<Request> {
        std::mem::take(&mut self.state.lock().unwrap().requests)
    }

    pub fn notes(&self) -> Vec<Note> {
        self.state.lock().unwrap().notes.clone()
    }

    /// The files of `branch`.
    pub fn files(&self, branch: &str) -> BTreeMap<String, File> {
        self.state.lock().unwrap().branches[branch].clone()
    }
}

/// Reads one HTTP/1.1 request, answers it as GitLab would, and closes the connection.
pub fn serve(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let (mut length, mut token, mut content_type) = (0usize, None, None);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap(),
            "private-token" => token = Some(value.trim().to_string()),
            "content-type" => content_type = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, answer, next) = {
        let mut state = state.lock().unwrap();
        state.requests.push(Request {
            method: method.clone(),
            target: target.clone(),
            token: token.clone(),
            content_type,
            body: body.clone(),
        });
        answer(&mut state, &method, &target, token.as_deref(), &body)
    };
    let next = next.map_or(String::new(), |n| format!("X-Next-Page: {n}\r\n"));
    let answer = answer.to_string();
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} Fake\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{next}Connection: close\r\n\r\n{answer}",
        answer.len()
    )
    .unwrap();
}

/// GitLab's answer: status, JSON body, and the next page, if any.
pub fn answer(
    state: &mut State,
    method: &str,
    target: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value, Option<usize>) {
    if token != Some("glpat-secret") {
        return (401, json!({"message": "401 Unauthorized"}), None);
    }
    let note_json = |n: &Note| json!({"id": n.id, "body": n.body, "system": n.system, "author": {"id": n.author}});
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    match (method, path) {
        ("GET", "/api/v4/user") => (200, json!({"id": ME, "username": "grove-bot"}), None),
        ("GET", NOTES) => {
            let page: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("page="))
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            let notes: Vec<Value> = state
                .notes
                .iter()
                .skip((page - 1) * PAGE)
                .take(PAGE)
                .map(note_json)
                .collect();
            let next = (page * PAGE < state.notes.len()).then_some(page + 1);
            (200, Value::Array(notes), next)
        }
        ("POST", NOTES) => {
            if let Some(status) = state.refuse_writes {
                return (status, json!({"message": "403 Forbidden"}), None);
            }
            let note = Note {
                id: state.next_id,
                author: ME,
                system: false,
                body: body["body"].as_str().unwrap().to_string(),
            };
            state.next_id += 1;
            state.notes.push(note.clone());
            (201, note_json(&note), None)
        }
        ("PUT", path) if path.starts_with(&format!("{NOTES}/")) => {
            if let Some(status) = state.refuse_writes {
                return (status, json!({"message": "403 Forbidden"}), None);
            }
            let id: u64 = path.rsplit('/').next().unwrap().parse().unwrap();
            match state.notes.iter_mut().find(|n| n.id == id) {
                Some(note) if note.author == ME => {
                    note.body = body["body"].as_str().unwrap().to_string();
                    let note = note.clone();
                    (200, note_json(&note), None)
                }
                Some(_) => (403, json!({"message": "403 Forbidden"}), None),
                None => (404, json!({"message": "404 Not found"}), None),
            }
        }
        ("POST", COMMITS) => {
            if let Some(status) = state.refuse_writes {
                return (status, json!({"message": "403 Forbidden"}), None);
            }
            let bad = |message: &str| (400, json!({ "message": message }), None);
            let Some(files) = body["branch"].as_str().and_then(|b| state.branches.get(b)) else {
                return bad("You can only create or edit files when you are on a branch");
            };
            // On a copy: every action applies, or none.
            let mut files = files.clone();
            for action in body["actions"].as_array().into_iter().flatten() {
                let path = action["file_path"].as_str().unwrap().to_string();
                match action["action"].as_str().unwrap() {
                    "create" => {
                        if files.contains_key(&path) {
                            return bad("A file with this name already exists");
                        }
                        let content = action["content"].as_str().unwrap();
                        let bytes = match action["encoding"].as_str() {
                            Some("base64") => base64::engine::general_purpose::STANDARD
                                .decode(content)
                                .unwrap(),
                            _ => content.as_bytes().to_vec(),
                        };
                        files.insert(
                            path,
                            File {
                                bytes,
                                executable: false,
                            },
                        );
                    }
                    "chmod" => match files.get_mut(&path) {
                        Some(file) => file.executable = action["execute_filemode"] == json!(true),
                        None => return bad("A file with this name doesn't exist"),
                    },
                    other => panic!("the fake does not do {other}"),
                }
            }
            let branch = body["branch"].as_str().unwrap().to_string();
            state.branches.insert(branch, files);
            let message = body["commit_message"].as_str().unwrap();
            (
                201,
                json!({
                    "id": COMMIT_ID,
                    "short_id": &COMMIT_ID[..11],
                    "title": message.lines().next().unwrap_or_default(),
                    "message": message,
                    "web_url": format!("https://gitlab.example.org/ops/cluster/-/commit/{COMMIT_ID}"),
                }),
                None,
            )
        }
        _ => (404, json!({"message": "404 Not found"}), None),
    }
}

/// A request as `grove` sends it: with the token, and a JSON body when it has one.
pub fn request(method: &str, target: &str, body: Value) -> Request {
    Request {
        method: method.into(),
        target: target.into(),
        token: Some("glpat-secret".into()),
        content_type: (!body.is_null()).then(|| "application/json".into()),
        body,
    }
}

pub fn listing(page: usize) -> Request {
    request(
        "GET",
        &format!("{NOTES}?sort=asc&order_by=created_at&per_page=100&page={page}"),
        Value::Null,
    )
}

/// Runs `command` (`grove` and its arguments) as a CI job of project 42 would, on the fake
/// GitLab at `api`, with the token and nothing else of this environment but PATH; then `env`,
/// in order (an empty value removes a variable).
pub fn in_job(mut command: Command, api: &str, env: &[(&str, &str)]) -> Output {
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("GROVE_GITLAB_TOKEN", "glpat-secret")
        .env("CI_API_V4_URL", api)
        .env("CI_PROJECT_ID", "42");
    for (key, value) in env {
        if value.is_empty() {
            command.env_remove(key);
        } else {
            command.env(key, value);
        }
    }
    command.output().unwrap()
}
