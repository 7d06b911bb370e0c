//! Email out and in against real servers on loopback: an SMTP server
//! (aiosmtpd) that keeps what it receives, and Dovecot with a test
//! mailbox. Sending, its failures and retries, templates, and replies
//! filed on their thread — on SQLite and PostgreSQL.

mod common;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use common::mail::{ImapServer, SmtpOptions, SmtpSink, SmtpTls};
use common::{backends, start_org, uid, Srv};
use relata_engine::jobs::{backoff, Runner, RunnerConfig};
use relata_engine::{MailSettings, ManualClock, OrgConfig};
use serde_json::{json, Value};
use uuid::Uuid;

struct Env {
    srv: Srv,
    clock: Arc<ManualClock>,
    runner: Runner,
}

fn env(backend: &'static str, smtp: Option<String>, imap: Option<String>) -> Env {
    env_trusting(backend, smtp, imap, None)
}

/// [`env`] trusting a test CA besides the public ones.
fn env_trusting(backend: &'static str, smtp: Option<String>, imap: Option<String>, ca: Option<Vec<u8>>) -> Env {
    let clock = ManualClock::new();
    let mail = MailSettings {
        smtp_url: smtp,
        imap_url: imap,
        from_address: Some("crm@relata.test".into()),
        trusted_ca_pem: ca,
        poll_minutes: 1,
    };
    let (srv, org) = start_org(backend, OrgConfig { clock: clock.clone(), mail, ..OrgConfig::default() });
    let runner = Runner::new(org, RunnerConfig { host: "mail-test".into(), ..RunnerConfig::default() });
    // The jobs due when an organization opens (maintenance, the first poll).
    runner.run_due(20).unwrap();
    Env { srv, clock, runner }
}

impl Env {
    fn contact(&self, first: &str, last: &str, email: Option<&str>) -> Uuid {
        let mut body = json!({ "firstname": first, "lastname": last });
        if let Some(e) = email {
            body["emailaddress1"] = json!(e);
        }
        self.srv.create("contacts", &body)
    }

    /// A draft email to `to` (contacts) and `cc` (bare addresses).
    fn draft(&self, subject: &str, to: &[Uuid], cc: &[&str]) -> Uuid {
        let mut parties: Vec<Value> = to
            .iter()
            .map(|c| json!({ "partyid_contact@odata.bind": format!("/contacts({c})"), "participationtypemask": 2 }))
            .collect();
        parties.extend(cc.iter().map(|a| json!({ "addressused": a, "participationtypemask": 3 })));
        let mut body = json!({
            "subject": subject,
            "description": "<p>Hello &amp; welcome</p><p>Our offer is attached.</p>",
            "email_activity_parties": parties,
        });
        if let Some(c) = to.first() {
            body["regardingobjectid_contact_email@odata.bind"] = json!(format!("/contacts({c})"));
        }
        self.srv.create("emails", &body)
    }

    fn send(&self, email: Uuid) -> Value {
        self.srv.post("SendEmail", &json!({ "EmailId": email, "IssueSend": true })).expect(200).json()
    }

    fn email(&self, id: Uuid) -> Value {
        self.srv.retrieve("emails", id, "")
    }

    /// Runs the jobs due now.
    fn run(&self) {
        self.runner.run_due(50).unwrap();
    }

    /// Moves the clock past the poll interval and polls the mailboxes.
    fn poll(&self) {
        self.clock.advance(Duration::minutes(1));
        self.run();
    }
}

fn status(email: &Value) -> (i64, i64) {
    (email["statecode"].as_i64().unwrap(), email["statuscode"].as_i64().unwrap())
}

fn text(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).replace("=\r\n", "")
}

#[test]
fn an_email_goes_out_through_smtp_with_its_parties_and_is_marked_sent() {
    for backend in backends() {
        let sink = SmtpSink::start();
        let e = env(backend, Some(sink.url()), None);
        let ivan = e.contact("Ivan", "Petrov", Some("ivan@client.test"));
        let email = e.draft("Our offer", &[ivan], &["cc@client.test"]);
        attach(&e.srv, email, "offer.pdf", b"%PDF-1.7 offer");

        assert_eq!(e.send(email)["Subject"], "Our offer", "{backend}");
        let queued = e.email(email);
        assert_eq!(status(&queued), (1, 6), "{backend}: Pending Send until the server takes it");
        let token = queued["trackingtoken"].as_str().unwrap().to_string();
        assert!(token.starts_with("CRM:") && token.len() == 11, "{backend}: {token}");
        assert!(sink.messages().is_empty(), "{backend}: nothing leaves before the job runs");

        e.run();
        let got = sink.wait_for(1, StdDuration::from_secs(10));
        let raw = text(&got[0].data);
        assert_eq!(got[0].mail_from, common::ADMIN_EMAIL, "{backend}");
        let mut rcpt = got[0].rcpt_tos.clone();
        rcpt.sort();
        assert_eq!(rcpt, vec!["cc@client.test", "ivan@client.test"], "{backend}");
        assert!(raw.contains(&format!("Subject: Our offer {token}")), "{backend}: {raw}");
        assert!(raw.contains(&format!("Message-ID: <{}@relata.test>", email.simple())), "{backend}: {raw}");
        assert!(raw.contains("To: \"Ivan Petrov\" <ivan@client.test>"), "{backend}: {raw}");
        assert!(raw.contains("Hello & welcome") && raw.contains("<p>Hello &amp; welcome</p>"), "{backend}: {raw}");
        assert!(raw.contains("offer.pdf"), "{backend}: the note's file goes as an attachment: {raw}");

        let sent = e.email(email);
        assert_eq!(status(&sent), (1, 3), "{backend}: Sent");
        assert_eq!(sent["deliveryattempts"], 1, "{backend}");
        assert!(sent["senton"].is_string(), "{backend}");
        assert_eq!(sent["directioncode"], true, "{backend}");

        let again = e.srv.post("SendEmail", &json!({ "EmailId": email, "IssueSend": true })).expect_error(400);
        assert!(again.contains("Only a draft or failed email can be sent; this one is Sent"), "{backend}: {again}");
        e.run();
        assert_eq!(sink.messages().len(), 1, "{backend}: sent once");
    }
}

fn attach(srv: &Srv, email: Uuid, name: &str, body: &[u8]) {
    use base64::Engine as _;
    srv.create(
        "annotations",
        &json!({
            "subject": name,
            "filename": name,
            "mimetype": "application/pdf",
            "documentbody": base64::engine::general_purpose::STANDARD.encode(body),
            "objectid_email@odata.bind": format!("/emails({email})"),
        }),
    );
}

#[test]
fn an_email_that_cannot_be_sent_is_refused_with_the_reason() {
    for backend in backends() {
        let sink = SmtpSink::start();
        let e = env(backend, Some(sink.url()), None);
        let srv = &e.srv;
        let nobody = srv.create("emails", &json!({ "subject": "to nobody" }));
        let err = srv.post("SendEmail", &json!({ "EmailId": nobody, "IssueSend": true })).expect_error(400);
        assert!(err.contains("no recipient"), "{backend}: {err}");

        let silent = e.contact("Silent", "Bob", None);
        let email = e.draft("hello", &[silent], &[]);
        let err = srv.post("SendEmail", &json!({ "EmailId": email, "IssueSend": true })).expect_error(400);
        assert!(err.contains("Contact 'Silent Bob' has no email address"), "{backend}: {err}");
        assert_eq!(status(&e.email(email)), (0, 1), "{backend}: still a draft");

        // From someone else: not sent as them.
        let other = srv.new_user(&["Salesperson"]);
        let ivan = e.contact("Ivan", "Petrov", Some("ivan@client.test"));
        let forged = srv.create(
            "emails",
            &json!({
                "subject": "as someone else",
                "email_activity_parties": [
                    { "partyid_systemuser@odata.bind": format!("/systemusers({})", other.id), "participationtypemask": 1 },
                    { "partyid_contact@odata.bind": format!("/contacts({ivan})"), "participationtypemask": 2 },
                ],
            }),
        );
        let err = srv.post("SendEmail", &json!({ "EmailId": forged, "IssueSend": true })).expect_error(400);
        assert!(err.contains("is not you"), "{backend}: {err}");

        // Malformed: a missing parameter, a wrong type, an unknown email.
        let err = srv.post("SendEmail", &json!({ "IssueSend": true })).expect_error(400);
        assert!(err.contains("EmailId"), "{backend}: {err}");
        let err = srv.post("SendEmail", &json!({ "EmailId": "not-a-guid", "IssueSend": true })).expect_error(400);
        assert!(err.contains("EmailId"), "{backend}: {err}");
        srv.post("SendEmail", &json!({ "EmailId": Uuid::new_v4(), "IssueSend": true })).expect_error(404);

        // A user without rights on the email may not send it.
        let err = srv
            .send(
                srv.req_as(&other.token, reqwest::Method::POST, "SendEmail")
                    .json(&json!({ "EmailId": email, "IssueSend": true })),
            )
            .status;
        assert!(err == 404 || err == 403, "{backend}: {err}");

        // IssueSend false records an email sent elsewhere: no message.
        let elsewhere = e.draft("sent from my phone", &[ivan], &[]);
        srv.post("SendEmail", &json!({ "EmailId": elsewhere, "IssueSend": false })).expect(200);
        assert_eq!(status(&e.email(elsewhere)), (1, 3), "{backend}");
        e.run();
        std::thread::sleep(StdDuration::from_millis(300));
        assert!(sink.messages().is_empty(), "{backend}: nothing was sent");

        // No server configured: said before anything is queued.
        let bare = env(backend, None, None);
        let ivan = bare.contact("Ivan", "Petrov", Some("ivan@client.test"));
        let email = bare.draft("no server", &[ivan], &[]);
        let err = bare.srv.post("SendEmail", &json!({ "EmailId": email, "IssueSend": true })).expect_error(400);
        assert!(err.contains("No SMTP server is configured"), "{backend}: {err}");
        assert_eq!(status(&bare.email(email)), (0, 1), "{backend}");
    }
}

#[test]
fn a_busy_server_is_retried_and_a_refused_recipient_fails_the_email() {
    for backend in backends() {
        let sink = SmtpSink::start_with(SmtpOptions {
            fail_first: 1,
            reject: vec!["gone@client.test".into()],
            auth: Some(("relata".into(), "s3cret".into())),
            ..SmtpOptions::default()
        });
        assert!(sink.url().contains("relata:s3cret@"), "{}", sink.url());
        let e = env(backend, Some(sink.url()), None);
        let ivan = e.contact("Ivan", "Petrov", Some("ivan@client.test"));
        let email = e.draft("retry me", &[ivan], &[]);
        e.send(email);
        e.run();
        let waiting = e.email(email);
        assert_eq!(status(&waiting), (1, 6), "{backend}: still Pending Send after a 451");
        assert!(waiting["relata_failurereason"].as_str().unwrap().contains("451"), "{backend}: {waiting}");
        assert_eq!(waiting["deliveryattempts"], 1, "{backend}");
        assert!(sink.messages().is_empty(), "{backend}");
        e.clock.advance(backoff(1) + Duration::seconds(1));
        e.run();
        sink.wait_for(1, StdDuration::from_secs(10));
        let sent = e.email(email);
        assert_eq!(status(&sent), (1, 3), "{backend}: sent on the second attempt");
        assert_eq!(sent["deliveryattempts"], 2, "{backend}");
        assert!(sent["relata_failurereason"].is_null(), "{backend}");

        let gone = e.contact("Gone", "Away", Some("gone@client.test"));
        let email = e.draft("to a closed mailbox", &[gone], &[]);
        e.send(email);
        e.run();
        let failed = e.email(email);
        assert_eq!(status(&failed), (0, 8), "{backend}: Failed at once on a 550");
        let why = failed["relata_failurereason"].as_str().unwrap();
        assert!(why.contains("550"), "{backend}: {why}");
        let jobs = e.srv.get(&format!("asyncoperations?$filter=relata_regardingid eq {email}")).expect(200).rows();
        assert_eq!(jobs.len(), 1, "{backend}");
        assert_eq!(jobs[0]["statuscode"], 31, "{backend}: the system job failed: {}", jobs[0]);
        assert!(jobs[0]["message"].as_str().unwrap().contains("550"), "{backend}: {}", jobs[0]);
        // A failed email can be corrected and sent again.
        let err = e.srv.post("SendEmail", &json!({ "EmailId": email, "IssueSend": true })).status;
        assert_eq!(err, 200, "{backend}: a failed email may be sent again");
    }
}

#[test]
fn a_template_fills_in_the_record_and_its_related_records() {
    for backend in backends() {
        let sink = SmtpSink::start();
        let e = env(backend, Some(sink.url()), None);
        let srv = &e.srv;
        let bad =
            srv.post("templates", &json!({ "title": "broken", "subject": "x", "body": "<p>{{ record.name </p>" }));
        let err = bad.expect_error(400);
        assert!(err.contains("body is not valid (line 1)"), "{backend}: {err}");
        let err = srv
            .post(
                "templates",
                &json!({ "title": "t", "templatetypecode": "nosuchentity", "subject": "x", "body": "y" }),
            )
            .expect_error(400);
        assert!(err.contains("nosuchentity"), "{backend}: {err}");

        let template = srv.create(
            "templates",
            &json!({
                "title": "Offer",
                "templatetypecode": "contact",
                "languagecode": 1033,
                "subject": "Offer for {{ record.fullname }}",
                "body": "<p>Dear {{ record.firstname }} of {{ record.parentcustomerid.name }} ({{ record.parentcustomerid.telephone1 }}), {{ record.missing.value }}</p><p>{{ user.fullname }}</p>",
            }),
        );
        let account = srv.create("accounts", &json!({ "name": "Acme <Ltd> & Sons", "telephone1": "+7 495 000-00-00" }));
        let ivan = srv.create(
            "contacts",
            &json!({
                "firstname": "Ivan",
                "lastname": "Petrov",
                "emailaddress1": "ivan@client.test",
                "parentcustomerid_account@odata.bind": format!("/accounts({account})"),
            }),
        );
        let sent = srv
            .post(
                "SendEmailFromTemplate",
                &json!({
                    "TemplateId": template,
                    "RegardingId": ivan,
                    "RegardingType": "contact",
                    "Target": {
                        "@odata.type": "Microsoft.Dynamics.CRM.email",
                        "email_activity_parties": [
                            { "partyid_contact@odata.bind": format!("/contacts({ivan})"), "participationtypemask": 2 }
                        ]
                    }
                }),
            )
            .expect(200)
            .json();
        let id: Uuid = sent["activityid"].as_str().expect("the email is returned").parse().unwrap();
        let email = e.email(id);
        assert_eq!(email["subject"], "Offer for Ivan Petrov", "{backend}");
        assert_eq!(email["_templateid_value"], template.to_string(), "{backend}");
        assert_eq!(email["_regardingobjectid_value"], ivan.to_string(), "{backend}");
        assert_eq!(status(&email), (1, 6), "{backend}");
        let body = email["description"].as_str().unwrap();
        assert_eq!(
            body, "<p>Dear Ivan of Acme &lt;Ltd&gt; &amp; Sons (+7 495 000-00-00), </p><p>Test Admin</p>",
            "{backend}"
        );
        e.run();
        let got = sink.wait_for(1, StdDuration::from_secs(10));
        assert!(text(&got[0].data).contains("Subject: Offer for Ivan Petrov CRM:"), "{backend}");

        // The template is written for contacts, not accounts.
        let err = srv
            .post(
                "SendEmailFromTemplate",
                &json!({
                    "TemplateId": template,
                    "RegardingId": account,
                    "RegardingType": "account",
                    "Target": { "@odata.type": "Microsoft.Dynamics.CRM.email" }
                }),
            )
            .expect_error(400);
        assert!(err.contains("written for contact records"), "{backend}: {err}");

        // InstantiateTemplate: the same email, not saved, for the caller to
        // address and send.
        let emails_before = srv.get("emails?$select=activityid").rows().len();
        let made = srv
            .post("InstantiateTemplate", &json!({ "TemplateId": template, "ObjectType": "contact", "ObjectId": ivan }))
            .expect(200)
            .json();
        assert!(made["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#Collection(Microsoft.Dynamics.CRM.crmbaseentity)"));
        let drafts = made["value"].as_array().unwrap();
        assert_eq!(drafts.len(), 1, "{backend}: {made}");
        assert_eq!(drafts[0]["@odata.type"], "#Microsoft.Dynamics.CRM.email", "{backend}");
        assert_eq!(drafts[0]["subject"], "Offer for Ivan Petrov", "{backend}");
        assert_eq!(drafts[0]["description"], body, "{backend}");
        assert_eq!(drafts[0]["_templateid_value"], template.to_string(), "{backend}");
        assert_eq!(srv.get("emails?$select=activityid").rows().len(), emails_before, "{backend}: nothing is saved");
        for (params, says) in [
            (
                json!({ "TemplateId": template, "ObjectType": "account", "ObjectId": account }),
                "written for contact records",
            ),
            (json!({ "TemplateId": template, "ObjectType": "planet", "ObjectId": ivan }), "'planet' is not an entity"),
            (json!({ "TemplateId": template, "ObjectType": "contact" }), "ObjectId"),
            (json!({ "TemplateId": Uuid::now_v7(), "ObjectType": "contact", "ObjectId": ivan }), "Does Not Exist"),
        ] {
            let r = srv.post("InstantiateTemplate", &params);
            assert!(matches!(r.status, 400 | 404), "{backend}: {params} answered {}", r.status);
            assert!(r.text().contains(says), "{backend}: {params}: {}", r.text());
        }
        // A user who cannot make emails is told so.
        let reader = srv.new_user(&["Read Only"]);
        let r = srv.send(srv.req_as(&reader.token, reqwest::Method::POST, "InstantiateTemplate").json(&json!({
            "TemplateId": template, "ObjectType": "contact", "ObjectId": ivan
        })));
        assert_eq!(r.status, 403, "{backend}: {}", r.text());
        assert!(r.text().contains("prvCreateActivity"), "{backend}: {}", r.text());
    }
}

/// A reply to `message_id` from `from`, with a PDF attached.
fn reply(message_id: &str, from: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: Ivan Petrov <{from}>\r\nTo: crm@relata.test\r\nSubject: {subject}\r\n\
         Message-ID: <reply-{}@client.test>\r\nIn-Reply-To: <{message_id}>\r\nReferences: <{message_id}>\r\n\
         Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         We agree <to> the terms.\r\n--b1\r\nContent-Type: application/pdf; name=\"signed.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"signed.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         JVBERi0xLjc=\r\n--b1--\r\n",
        uid()
    )
    .into_bytes()
}

fn received(srv: &Srv) -> Vec<Value> {
    srv.get("emails?$filter=directioncode eq false&$orderby=createdon").expect(200).rows()
}

#[test]
fn a_reply_in_the_mailbox_is_filed_on_its_thread_once() {
    for backend in backends() {
        let sink = SmtpSink::start();
        let imap = ImapServer::start();
        let e = env(backend, Some(sink.url()), Some(imap.url()));
        let srv = &e.srv;
        let ivan = e.contact("Ivan", "Petrov", Some("ivan@client.test"));
        let email = e.draft("Contract", &[ivan], &[]);
        e.send(email);
        e.run();
        sink.wait_for(1, StdDuration::from_secs(10));
        let sent = e.email(email);
        let message_id = sent["messageid"].as_str().unwrap().to_string();
        let token = sent["trackingtoken"].as_str().unwrap().to_string();

        imap.append(&reply(&message_id, "ivan@client.test", "Re: Contract"));
        e.poll();
        let got = received(srv);
        let polls = srv.get("asyncoperations?$filter=relata_jobtype eq 'email.poll'").expect(200).rows();
        let boxes = srv.get("mailboxes").expect(200).rows();
        assert_eq!(got.len(), 1, "{backend}: {got:?} {polls:?} {boxes:?}");
        let r = &got[0];
        assert_eq!(status(r), (1, 4), "{backend}: Received");
        assert_eq!(r["_parentactivityid_value"], email.to_string(), "{backend}: on the thread");
        assert_eq!(r["_regardingobjectid_value"], ivan.to_string(), "{backend}: regarding what the thread is about");
        assert!(r["description"].as_str().unwrap().contains("We agree &lt;to&gt; the terms."), "{backend}: {r}");
        let rid = r["activityid"].as_str().unwrap();
        let parties = srv
            .get(&format!("activityparties?$filter=_activityid_value eq {rid} and participationtypemask eq 1"))
            .expect(200)
            .rows();
        assert_eq!(parties.len(), 1, "{backend}");
        assert_eq!(parties[0]["_partyid_value"], ivan.to_string(), "{backend}: the sender is the contact");
        let notes = srv.get(&format!("annotations?$filter=_objectid_value eq {rid}")).expect(200).rows();
        assert_eq!(notes.len(), 1, "{backend}");
        assert_eq!(notes[0]["filename"], "signed.pdf", "{backend}");

        // Nothing twice: another poll, and the same message delivered again.
        e.poll();
        imap.append(
            &String::from_utf8(reply(&message_id, "ivan@client.test", "Re: Contract"))
                .unwrap()
                .replace("Message-ID: <reply-", "X-Dup: 1\r\nMessage-ID: <dup-")
                .into_bytes(),
        );
        let dup_id = format!("dup-{}", uid());
        let twice = format!(
            "From: ivan@client.test\r\nTo: crm@relata.test\r\nSubject: same\r\nMessage-ID: <{dup_id}@x>\r\n\r\nbody\r\n"
        );
        imap.append(twice.as_bytes());
        imap.append(twice.as_bytes());
        e.poll();
        let got = received(srv);
        assert_eq!(got.len(), 3, "{backend}: the same Message-ID is filed once: {got:?}");

        // A reply that lost its headers still finds the thread by the token.
        let by_token = format!(
            "From: someone@else.test\r\nTo: crm@relata.test\r\nSubject: Fwd: Contract {token}\r\n\
             Message-ID: <tok-{}@else.test>\r\n\r\nsee below\r\n",
            uid()
        );
        imap.append(by_token.as_bytes());
        e.poll();
        let got = received(srv);
        let last = got.iter().find(|r| r["subject"].as_str().unwrap().starts_with("Fwd:")).expect("filed");
        assert_eq!(last["_parentactivityid_value"], email.to_string(), "{backend}");
        let unresolved = srv
            .get(&format!(
                "activityparties?$filter=_activityid_value eq {} and participationtypemask eq 1",
                last["activityid"].as_str().unwrap()
            ))
            .expect(200)
            .rows();
        assert_eq!(unresolved[0]["addressused"], "someone@else.test", "{backend}");
        assert!(unresolved[0]["_partyid_value"].is_null(), "{backend}");

        let mailbox = srv.get("mailboxes?$filter=relata_isdefault eq true").expect(200).rows();
        assert_eq!(mailbox.len(), 1, "{backend}");
        assert!(mailbox[0]["relata_lasterror"].is_null(), "{backend}: {}", mailbox[0]);
        assert_eq!(imap.count(), 5, "{backend}: messages stay on the server");
    }
}

#[test]
fn a_user_s_own_mailbox_sends_through_its_server_and_files_what_it_receives_as_theirs() {
    for backend in backends() {
        let company = SmtpSink::start();
        let own_smtp = SmtpSink::start();
        let own_imap = ImapServer::start();
        let e = env(backend, Some(company.url()), None);
        let srv = &e.srv;
        let anna = srv.new_user(&["Salesperson"]);
        let as_anna = |method: reqwest::Method, path: &str, body: &Value| {
            srv.send(srv.req_as(&anna.token, method, path).json(body))
        };
        let mailbox = as_anna(
            reqwest::Method::POST,
            "mailboxes",
            &json!({ "name": "Anna's mail", "emailaddress": anna.email, "relata_incomingurl": own_imap.url(), "relata_outgoingurl": own_smtp.url() }),
        );
        assert_eq!(mailbox.status, 204, "{backend}: {}", mailbox.text());
        let bad = as_anna(
            reqwest::Method::POST,
            "mailboxes",
            &json!({ "name": "x", "emailaddress": "x@y.test", "relata_incomingurl": own_smtp.url() }),
        );
        assert!(bad.text().contains("is not an IMAP (imap://, imaps://) URL"), "{backend}: {}", bad.text());

        let ivan = srv.create(
            "contacts",
            &json!({ "firstname": "Ivan", "lastname": "Petrov", "emailaddress1": "ivan@client.test" }),
        );
        srv.patch(&format!("contacts({ivan})"), &json!({ "ownerid@odata.bind": format!("/systemusers({})", anna.id) }))
            .expect(204);
        let draft = as_anna(
            reqwest::Method::POST,
            "emails",
            &json!({ "subject": "From Anna", "description": "Hello", "email_activity_parties": [
                { "partyid_contact@odata.bind": format!("/contacts({ivan})"), "participationtypemask": 2 } ] }),
        );
        assert_eq!(draft.status, 204, "{backend}: {}", draft.text());
        let email = common::id_from_url(&draft.header("OData-EntityId").unwrap());
        let sent = as_anna(reqwest::Method::POST, "SendEmail", &json!({ "EmailId": email, "IssueSend": true }));
        assert_eq!(sent.status, 200, "{backend}: {}", sent.text());
        e.run();
        let got = own_smtp.wait_for(1, StdDuration::from_secs(10));
        assert_eq!(got[0].mail_from, anna.email, "{backend}");
        assert!(company.messages().is_empty(), "{backend}: not through the company's server");

        let message_id = e.email(email)["messageid"].as_str().unwrap().to_string();
        own_imap.append(&reply(&message_id, "ivan@client.test", "Re: From Anna"));
        e.poll();
        let got = received(srv);
        assert_eq!(got.len(), 1, "{backend}");
        assert_eq!(got[0]["_ownerid_value"], anna.id.to_string(), "{backend}: her mailbox, her email");
        assert_eq!(got[0]["_parentactivityid_value"], email.to_string(), "{backend}");
        let seen = srv.send(srv.req_as(&anna.token, reqwest::Method::GET, "emails?$filter=directioncode eq false"));
        assert_eq!(seen.rows().len(), 1, "{backend}: she reads it");
    }
}

/// A shared mailbox is a mailbox a team owns: what it receives is the
/// team's, read by its members and by nobody else of their role.
#[test]
fn a_team_s_shared_mailbox_files_what_it_receives_for_the_team() {
    for backend in backends() {
        let shared = ImapServer::start();
        let e = env(backend, None, None);
        let srv = &e.srv;
        let (anna, boris, carl) =
            (srv.new_user(&["Salesperson"]), srv.new_user(&["Salesperson"]), srv.new_user(&["Salesperson"]));
        let team = srv.create("teams", &json!({ "name": format!("Support desk {}", uid()) }));
        let members: Vec<Value> = [&anna, &boris]
            .iter()
            .map(|u| json!({ "@odata.type": "Microsoft.Dynamics.CRM.systemuser", "ownerid": u.id }))
            .collect();
        srv.post(&format!("/teams({team})/Microsoft.Dynamics.CRM.AddMembersTeam"), &json!({ "Members": members }))
            .expect(204);
        let salesperson = srv.get("roles?$select=roleid&$filter=name eq 'Salesperson'").rows()[0]["roleid"].clone();
        srv.post(
            &format!("/teams({team})/teamroles_association/$ref"),
            &json!({ "@odata.id": format!("{}/roles({})", srv.api, salesperson.as_str().unwrap()) }),
        )
        .expect(204);
        srv.create(
            "mailboxes",
            &json!({
                "name": "support@",
                "emailaddress": "support@relata.test",
                "relata_incomingurl": shared.url(),
                "ownerid@odata.bind": format!("/teams({team})"),
            }),
        );
        let message_id = format!("help-{}@client.test", uid());
        shared.append(
            format!(
                "From: Olga <olga@client.test>\r\nTo: support@relata.test\r\nSubject: The printer is jammed\r\n\
                 Message-ID: <{message_id}>\r\n\r\nPlease help.\r\n"
            )
            .as_bytes(),
        );
        e.poll();
        let got = received(srv);
        assert_eq!(got.len(), 1, "{backend}: {got:?}");
        assert_eq!(got[0]["_ownerid_value"], team.to_string(), "{backend}: the team's mailbox, the team's email");
        assert_eq!(got[0]["subject"], "The printer is jammed", "{backend}");
        let read_as = |token: &str| {
            srv.send(srv.req_as(token, reqwest::Method::GET, "emails?$select=subject&$filter=directioncode eq false"))
                .expect(200)
                .rows()
                .len()
        };
        assert_eq!((read_as(&anna.token), read_as(&boris.token)), (1, 1), "{backend}: the members read it");
        assert_eq!(read_as(&carl.token), 0, "{backend}: a Salesperson outside the team does not");
        e.poll();
        assert_eq!(received(srv).len(), 1, "{backend}: filed once");
    }
}

#[test]
fn relata_serve_sends_through_the_smtp_server_its_environment_names() {
    for backend in backends() {
        let sink = SmtpSink::start_with(SmtpOptions {
            auth: Some(("crm".into(), "p@ss word".into())),
            ..SmtpOptions::default()
        });
        let url = sink.url();
        let srv = common::start_nodes(
            backend,
            1,
            &[("RELATA_SMTP_URL", url.as_str()), ("RELATA_MAIL_FROM", "crm@relata.test")],
        )
        .remove(0);
        let ivan = srv.create(
            "contacts",
            &json!({ "firstname": "Ivan", "lastname": "Petrov", "emailaddress1": "ivan@client.test" }),
        );
        let email = srv.create(
            "emails",
            &json!({ "subject": "From the server", "description": "Hello", "email_activity_parties": [
                { "partyid_contact@odata.bind": format!("/contacts({ivan})"), "participationtypemask": 2 } ] }),
        );
        srv.post("SendEmail", &json!({ "EmailId": email, "IssueSend": true })).expect(200);
        // The server's own job runner sends it.
        let got = sink.wait_for(1, StdDuration::from_secs(30));
        assert!(text(&got[0].data).contains("Subject: From the server CRM:"), "{backend}");
        let deadline = std::time::Instant::now() + StdDuration::from_secs(30);
        while status(&srv.retrieve("emails", email, "$select=statecode,statuscode")) != (1, 3) {
            assert!(std::time::Instant::now() < deadline, "{backend}: the email was not marked Sent");
            std::thread::sleep(StdDuration::from_millis(100));
        }
    }
}

#[test]
fn mail_goes_over_starttls_and_tls_trusting_the_company_ca_and_an_unknown_certificate_is_refused() {
    for backend in backends() {
        for tls in [SmtpTls::StartTls, SmtpTls::Implicit] {
            let sink = SmtpSink::start_with(SmtpOptions {
                tls,
                auth: Some(("crm".into(), "s3cret".into())),
                ..SmtpOptions::default()
            });
            let imap = ImapServer::start_tls();
            let ca = std::fs::read(sink.ca_pem().unwrap()).unwrap();
            let mut both = ca.clone();
            both.extend(std::fs::read(imap.ca_pem().unwrap()).unwrap());
            let e = env_trusting(backend, Some(sink.url()), Some(imap.url()), Some(both));
            let ivan = e.contact("Ivan", "Petrov", Some("ivan@client.test"));
            let email = e.draft("Over TLS", &[ivan], &[]);
            e.send(email);
            e.run();
            sink.wait_for(1, StdDuration::from_secs(10));
            assert_eq!(status(&e.email(email)), (1, 3), "{backend} {tls:?}");
            let message_id = e.email(email)["messageid"].as_str().unwrap().to_string();
            imap.append(&reply(&message_id, "ivan@client.test", "Re: Over TLS"));
            e.poll();
            assert_eq!(received(&e.srv).len(), 1, "{backend} {tls:?}: read over imaps");

            // Without the company CA the certificate is not trusted: the
            // email fails with the reason, the mailbox says why.
            let strict = env(backend, Some(sink.url()), Some(imap.url()));
            let ivan = strict.contact("Ivan", "Petrov", Some("ivan@client.test"));
            let email = strict.draft("Untrusted", &[ivan], &[]);
            strict.send(email);
            strict.run();
            let failed = strict.email(email);
            assert_eq!(status(&failed), (0, 8), "{backend} {tls:?}: {failed}");
            let why = failed["relata_failurereason"].as_str().unwrap().to_lowercase();
            assert!(why.contains("certificate") || why.contains("tls"), "{backend} {tls:?}: {why}");
            strict.poll();
            let mailbox = strict.srv.get("mailboxes?$filter=relata_isdefault eq true").expect(200).rows();
            let error = mailbox[0]["relata_lasterror"].as_str().unwrap_or_default().to_lowercase();
            assert!(error.contains("certificate") || error.contains("tls"), "{backend} {tls:?}: {error}");
        }
    }
}
