//! Activities (tasks, phone calls, emails with parties), the activity
//! pointer set, closed activities and notes with attachments.

mod common;

use common::{each_server, enc, uid};
use serde_json::{json, Value};

#[test]
fn task_regarding_account_and_navigation() {
    each_server(|srv| {
        let acc = srv.create("accounts", &json!({ "name": format!("Act {}", uid()) }));
        let subject = format!("Call back {}", uid());
        let task = srv.create(
            "tasks",
            &json!({
                "subject": subject,
                "scheduledend": "2030-05-01T10:00:00Z",
                "prioritycode": 2,
                "regardingobjectid_account_task@odata.bind": format!("/accounts({acc})"),
            }),
        );
        let r = srv.get_with(
            &format!(
                "/tasks({task})?$select=subject,scheduledend,prioritycode,_regardingobjectid_value,activitytypecode"
            ),
            &[("Prefer", "odata.include-annotations=\"*\"")],
        );
        r.expect(200);
        let v = r.json();
        assert_eq!(v["subject"], subject);
        assert_eq!(v["_regardingobjectid_value"], acc.to_string());
        assert_eq!(v["_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "account", "{v}");
        assert_eq!(v["activitytypecode"], "task", "{v}");
        assert_eq!(v["prioritycode"], 2);
        assert!(v["scheduledend"].as_str().is_some_and(|s| s.starts_with("2030-05-01T10:00:00")), "{v}");
        assert_eq!(v["activityid"], task.to_string());

        let rows = srv.get(&format!("/accounts({acc})/Account_Tasks?$select=subject")).rows();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["subject"], subject);
        let v = srv.retrieve("accounts", acc, "$select=name&$expand=Account_Tasks($select=subject)");
        assert_eq!(v["Account_Tasks"][0]["subject"], subject, "{v}");

        // Creating through the collection navigation sets the regarding link.
        let r = srv.post(&format!("/accounts({acc})/Account_Tasks"), &json!({ "subject": format!("{subject} 2") }));
        r.expect(204);
        let second = r.entity_id();
        assert_eq!(
            srv.retrieve("tasks", second, "$select=subject,_regardingobjectid_value")["_regardingobjectid_value"],
            acc.to_string()
        );
        assert_eq!(srv.get(&format!("/accounts({acc})/Account_Tasks?$select=subject")).rows().len(), 2);

        // An out-of-range percentcomplete (0..100) is rejected.
        srv.patch(&format!("/tasks({task})"), &json!({ "percentcomplete": 101 })).expect_error(400);
    });
}

#[test]
fn email_with_activity_parties() {
    each_server(|srv| {
        let admin = srv.admin_id();
        let acc = srv.create("accounts", &json!({ "name": format!("Mail {}", uid()) }));
        let contact = srv.create(
            "contacts",
            &json!({ "firstname": "Olga", "lastname": format!("Mail{}", uid()), "emailaddress1": "olga@example.test" }),
        );
        let subject = format!("Proposal {}", uid());
        let email = srv.create(
            "emails",
            &json!({
                "subject": subject,
                "description": "<p>Hello</p>",
                "regardingobjectid_account_email@odata.bind": format!("/accounts({acc})"),
                "email_activity_parties": [
                    { "partyid_contact@odata.bind": format!("/contacts({contact})"), "participationtypemask": 2 },
                    { "partyid_systemuser@odata.bind": format!("/systemusers({admin})"), "participationtypemask": 1 },
                ],
            }),
        );
        let v = srv.retrieve(
            "emails",
            email,
            "$select=subject&$expand=email_activity_parties($select=participationtypemask,_partyid_value)",
        );
        assert_eq!(v["subject"], subject);
        let parties = v["email_activity_parties"].as_array().unwrap_or_else(|| panic!("{v}"));
        let mut got: Vec<(i64, String)> = parties
            .iter()
            .map(|p| {
                (
                    p["participationtypemask"].as_i64().unwrap(),
                    p["_partyid_value"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        got.sort();
        assert_eq!(got, vec![(1, admin.to_string()), (2, contact.to_string())], "{v}");

        // The parties are records of their own.
        let rows = srv
            .get(&format!(
                "/activityparties?$select=participationtypemask&$filter={}",
                enc(&format!("_activityid_value eq {email}"))
            ))
            .rows();
        assert_eq!(rows.len(), 2, "{rows:?}");
        // An unknown participation type is rejected.
        let r = srv.post(
            "/emails",
            &json!({
                "subject": "bad party",
                "email_activity_parties": [
                    { "partyid_contact@odata.bind": format!("/contacts({contact})"), "participationtypemask": 4242 }
                ],
            }),
        );
        r.expect_error(400);
    });
}

#[test]
fn activity_pointers_list_every_kind() {
    each_server(|srv| {
        let acc = srv.create("accounts", &json!({ "name": format!("Ptr {}", uid()) }));
        let bind = format!("/accounts({acc})");
        let t =
            srv.create("tasks", &json!({ "subject": "ptr task", "regardingobjectid_account_task@odata.bind": bind }));
        let p = srv.create(
            "phonecalls",
            &json!({ "subject": "ptr call", "phonenumber": "+1 555 0100", "regardingobjectid_account_phonecall@odata.bind": bind }),
        );
        let e = srv
            .create("emails", &json!({ "subject": "ptr email", "regardingobjectid_account_email@odata.bind": bind }));
        // An activity about something else is not listed.
        let other = srv.create("accounts", &json!({ "name": format!("Ptr other {}", uid()) }));
        srv.create(
            "tasks",
            &json!({ "subject": "other", "regardingobjectid_account_task@odata.bind": format!("/accounts({other})") }),
        );

        let rows = srv
            .get(&format!(
                "/activitypointers?$select=subject,activitytypecode&$filter={}&$orderby=subject",
                enc(&format!("_regardingobjectid_value eq {acc}"))
            ))
            .rows();
        let got: Vec<(String, String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r["subject"].as_str().unwrap().to_string(),
                    r["activitytypecode"].as_str().unwrap_or_default().to_string(),
                    r["activityid"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("ptr call".to_string(), "phonecall".to_string(), p.to_string()),
                ("ptr email".to_string(), "email".to_string(), e.to_string()),
                ("ptr task".to_string(), "task".to_string(), t.to_string()),
            ]
        );
        let rows = srv.get(&format!("/accounts({acc})/Account_ActivityPointers?$select=subject")).rows();
        assert_eq!(rows.len(), 3, "{rows:?}");
        // The pointer carries the shared columns of the concrete activity.
        let v = srv.retrieve("activitypointers", p, "$select=subject,activitytypecode");
        assert_eq!(v["subject"], "ptr call");
        // Type-specific columns stay on the concrete set.
        assert_eq!(srv.retrieve("phonecalls", p, "$select=phonenumber")["phonenumber"], "+1 555 0100");
    });
}

#[test]
fn closed_task_is_read_only_until_reopened() {
    each_server(|srv| {
        let task = srv.create("tasks", &json!({ "subject": format!("Close {}", uid()) }));
        let v = srv.retrieve("tasks", task, "$select=statecode,statuscode");
        assert_eq!((v["statecode"].as_i64(), v["statuscode"].as_i64()), (Some(0), Some(2)), "{v}");
        srv.patch(&format!("/tasks({task})"), &json!({ "statecode": 1, "statuscode": 5 })).expect(204);
        let v = srv.retrieve("tasks", task, "$select=statecode,statuscode,subject");
        assert_eq!((v["statecode"].as_i64(), v["statuscode"].as_i64()), (Some(1), Some(5)), "{v}");
        let subject = v["subject"].clone();

        srv.patch(&format!("/tasks({task})"), &json!({ "subject": "edited while closed" })).expect_error(400);
        assert_eq!(srv.retrieve("tasks", task, "$select=subject")["subject"], subject, "unchanged");

        // Reopen, then edit.
        srv.patch(&format!("/tasks({task})"), &json!({ "statecode": 0, "statuscode": 3 })).expect(204);
        srv.patch(&format!("/tasks({task})"), &json!({ "subject": "edited after reopening" })).expect(204);
        let v = srv.retrieve("tasks", task, "$select=subject,statecode,statuscode");
        assert_eq!(v["subject"], "edited after reopening");
        assert_eq!((v["statecode"].as_i64(), v["statuscode"].as_i64()), (Some(0), Some(3)), "{v}");
        // A status of another state is rejected for tasks too.
        srv.patch(&format!("/tasks({task})"), &json!({ "statecode": 1, "statuscode": 6 })).expect_error(400);
    });
}

#[test]
fn notes_with_attachments() {
    each_server(|srv| {
        let acc = srv.create("accounts", &json!({ "name": format!("Note {}", uid()) }));
        // "Hello, world!" is 13 bytes.
        let note = srv.create(
            "annotations",
            &json!({
                "subject": "Attachment",
                "notetext": "See the file",
                "filename": "hello.txt",
                "mimetype": "text/plain",
                "documentbody": "SGVsbG8sIHdvcmxkIQ==",
                "objectid_account@odata.bind": format!("/accounts({acc})"),
            }),
        );
        let r = srv.get_with(
            &format!("/annotations({note})?$select=subject,filename,mimetype,filesize,isdocument,documentbody,_objectid_value"),
            &[("Prefer", "odata.include-annotations=\"*\"")],
        );
        r.expect(200);
        let v = r.json();
        assert_eq!(v["filesize"], 13, "{v}");
        assert_eq!(v["isdocument"], true, "{v}");
        assert_eq!(v["filename"], "hello.txt");
        assert_eq!(v["documentbody"], "SGVsbG8sIHdvcmxkIQ==");
        assert_eq!(v["_objectid_value"], acc.to_string());
        assert_eq!(v["_objectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "account", "{v}");

        let rows = srv.get(&format!("/accounts({acc})/Account_Annotation?$select=subject,filesize")).rows();
        assert_eq!(rows.len(), 1, "{rows:?}");

        // Replacing the body recomputes the size; a plain note has none.
        srv.patch(&format!("/annotations({note})"), &json!({ "documentbody": "AAECAw==" })).expect(204);
        assert_eq!(srv.retrieve("annotations", note, "$select=filesize")["filesize"], 4);
        let plain = srv.create(
            "annotations",
            &json!({ "subject": "Plain", "notetext": "text only", "objectid_account@odata.bind": format!("/accounts({acc})") }),
        );
        let v: Value = srv.retrieve("annotations", plain, "$select=isdocument,filesize");
        assert_eq!(v["isdocument"], false, "{v}");
        assert!(v.get("filesize").is_some_and(|f| f.is_null() || *f == 0), "{v}");
        // Not base64.
        srv.post(
            "/annotations",
            &json!({ "subject": "bad", "filename": "x.bin", "documentbody": "***not base64***", "objectid_account@odata.bind": format!("/accounts({acc})") }),
        )
        .expect_error(400);
    });
}

#[test]
fn activity_parties_are_visible_only_with_their_activity() {
    each_server(|srv| {
        let owner = srv.new_user(&["Salesperson"]);
        let other = srv.new_user(&["Salesperson"]);
        let subject = format!("Private mail {}", uid());
        let r = srv.send(srv.req_as(&owner.token, reqwest::Method::POST, "/emails").json(&json!({
            "subject": subject,
            "email_activity_parties": [
                { "partyid_systemuser@odata.bind": format!("/systemusers({})", owner.id), "participationtypemask": 1 },
                { "addressused": "someone@example.com", "participationtypemask": 2 }
            ]
        })));
        r.expect(204);
        let email = r.entity_id();
        let path = format!(
            "/activityparties?$select=participationtypemask&$filter={}",
            enc(&format!("_activityid_value eq {email}"))
        );
        let mine = srv.send(srv.req_as(&owner.token, reqwest::Method::GET, &path));
        mine.expect(200);
        assert_eq!(mine.rows().len(), 2, "the owner sees the parties of their email");
        let theirs = srv.send(srv.req_as(&other.token, reqwest::Method::GET, &path));
        theirs.expect(200);
        assert!(theirs.rows().is_empty(), "another salesperson sees none: {:?}", theirs.rows());
        // The email itself is as invisible as a missing one.
        srv.send(srv.req_as(&other.token, reqwest::Method::GET, &format!("/emails({email})"))).expect_error(404);
    });
}
