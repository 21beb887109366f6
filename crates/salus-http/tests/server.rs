//! A Salus server on 127.0.0.1:0 with a fresh database, for HTTP-level tests.

use reqwest::Response;
use salus_engine::Engine;
use salus_store::{Store, sqlite::SqliteStore};
use serde_json::Value;

pub struct TestServer {
    pub client: reqwest::Client,
    base: String,
    _data: tempfile::TempDir,
}

#[allow(dead_code)] // each test binary uses a different subset
impl TestServer {
    pub async fn start() -> Self {
        Self::start_with_limit(16 * 1024 * 1024).await
    }

    pub async fn start_with_limit(max_body_bytes: usize) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let store = Store::new(SqliteStore::open(data.path()).expect("open store"));
        // As `salus serve` configures it: bulk exports go under the data directory.
        let engine = Engine::r4(store).with_export_dir(data.path().join("exports"));
        let config = salus_http::HttpConfig { max_body_bytes, base_url: None };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, salus_http::app(engine, config)).await;
        });
        TestServer { client: reqwest::Client::new(), base: format!("http://{addr}/fhir"), _data: data }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, Value) {
        let r = self.client.get(self.url(path)).send().await.expect("send");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .await
            .expect("send")
    }

    pub async fn put(&self, path: &str, body: &Value, if_match: Option<&str>) -> Response {
        let mut request =
            self.client.put(self.url(path)).header("Content-Type", "application/fhir+json").body(body.to_string());
        if let Some(tag) = if_match {
            request = request.header("If-Match", tag);
        }
        request.send().await.expect("send")
    }

    /// Creates a resource and returns its id.
    pub async fn create(&self, resource: &Value) -> String {
        let r = self.post(&format!("/{}", resource["resourceType"].as_str().unwrap_or("")), resource).await;
        assert!(r.status().is_success(), "create failed: {}", r.status());
        let body: Value = r.json().await.expect("json");
        body["id"].as_str().expect("id").to_string()
    }
}
