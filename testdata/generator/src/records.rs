//! Realistic CloudTrail management-event records (`{"Records":[...]}` log file bodies).

use fastrand::Rng;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::format_time;

/// Who makes API calls in an account: a handful of principals with stable ids, IPs and clients.
pub(crate) struct Principal {
    kind: Kind,
    ips: Vec<String>,
    client: Client,
}

enum Kind {
    IamUser {
        name: String,
        id: String,
        access_key: String,
    },
    Role {
        name: String,
        path: String,
        id: String,
        session: String,
        ec2: bool,
    },
}

#[derive(Clone, Copy)]
enum Client {
    Cli,
    Console,
    Terraform,
    GoSdk,
    LambdaBoto3,
    CliV1,
}

/// Per-log state of each principal: its current temporary credentials.
struct Session {
    access_key: String,
    created: i64,
}

const EMAIL_USERS: [&str; 8] = [
    "alice.martin",
    "bob.nguyen",
    "carol.schmidt",
    "dmitri.ivanov",
    "emma.okafor",
    "farid.haddad",
    "grace.liu",
    "hugo.lefevre",
];

/// Builds the principal pool of one account (deterministic for `rng`'s state).
pub(crate) fn principal_pool(rng: &mut Rng, _account: &str) -> Vec<Principal> {
    let mut pool = Vec::new();
    let sso_region = "eu-west-1";
    let people = rng.choose_multiple(EMAIL_USERS.iter(), 3);
    for (i, who) in people.into_iter().enumerate() {
        let (perm, client) = if i == 0 {
            ("AdministratorAccess", Client::Console)
        } else if i == 1 {
            ("PowerUserAccess", Client::Cli)
        } else {
            ("ReadOnlyAccess", Client::Console)
        };
        pool.push(Principal {
            kind: Kind::Role {
                name: format!("AWSReservedSSO_{perm}_{}", hex(rng, 16)),
                path: format!("aws-reserved/sso.amazonaws.com/{sso_region}/"),
                id: iam_id(rng, "AROA"),
                session: format!("{who}@acme.example"),
                ec2: false,
            },
            ips: (0..rng.usize(1..=2)).map(|_| public_ip(rng)).collect(),
            client,
        });
    }
    pool.push(Principal {
        kind: Kind::Role {
            name: "github-actions-deploy".to_owned(),
            path: String::new(),
            id: iam_id(rng, "AROA"),
            session: "GitHubActions".to_owned(),
            ec2: false,
        },
        ips: (0..4).map(|_| public_ip(rng)).collect(),
        client: Client::Terraform,
    });
    let node_role = format!("eks-prod-NodeInstanceRole-{}", upper_alnum(rng, 12));
    for _ in 0..2 {
        pool.push(Principal {
            kind: Kind::Role {
                name: node_role.clone(),
                path: String::new(),
                id: iam_id(rng, "AROA"),
                session: format!("i-0{}", hex(rng, 16)),
                ec2: true,
            },
            ips: vec![public_ip(rng)],
            client: Client::GoSdk,
        });
    }
    pool.push(Principal {
        kind: Kind::Role {
            name: "billing-export-lambda-role".to_owned(),
            path: String::new(),
            id: iam_id(rng, "AROA"),
            session: "billing-export".to_owned(),
            ec2: false,
        },
        ips: vec![public_ip(rng)],
        client: Client::LambdaBoto3,
    });
    pool.push(Principal {
        kind: Kind::IamUser {
            name: "legacy-backup".to_owned(),
            id: iam_id(rng, "AIDA"),
            access_key: format!("AKIA{}", base32ish(rng, 16)),
        },
        ips: vec![public_ip(rng)],
        client: Client::CliV1,
    });
    pool
}

/// What one log file must contain.
pub(crate) struct LogBody<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub pool: &'a [Principal],
    pub records: u32,
    /// Event times are drawn from `[events_from, events_to]` (epoch seconds).
    pub events_from: i64,
    pub events_to: i64,
    pub seed: u64,
    /// Records appended after the generated ones (the trail's own API calls).
    pub extra: &'a [Value],
}

/// Streams the uncompressed body of a log file into `sink`; returns (oldest, newest) event times.
pub(crate) fn write_log_body(body: &LogBody<'_>, sink: &mut dyn FnMut(&[u8])) -> (i64, i64) {
    let mut rng = Rng::with_seed(body.seed);
    let n = body.records.max(1);
    let mut times: Vec<i64> = (0..n)
        .map(|_| rng.i64(body.events_from..=body.events_to.max(body.events_from)))
        .collect();
    times.sort_unstable();
    let sessions: Vec<Session> = body
        .pool
        .iter()
        .map(|p| match &p.kind {
            Kind::IamUser { access_key, .. } => Session {
                access_key: access_key.clone(),
                created: 0,
            },
            Kind::Role { .. } => Session {
                access_key: format!("ASIA{}", base32ish(&mut rng, 16)),
                created: body.events_from - rng.i64(60..3000),
            },
        })
        .collect();
    // Each log file comes from a few principals mostly (CloudTrail batches per ~5 minutes).
    let active: Vec<usize> = {
        let k = rng.usize(1..=3.min(body.pool.len()));
        rng.choose_multiple(0..body.pool.len(), k)
    };
    sink(b"{\"Records\":[");
    let mut buf = Vec::with_capacity(2048);
    for (i, &t) in times.iter().enumerate() {
        let pi = if rng.u8(..) < 220 {
            active[rng.usize(..active.len())]
        } else {
            rng.usize(..body.pool.len())
        };
        let rec = record(&mut rng, body, &body.pool[pi], &sessions[pi], t);
        buf.clear();
        if i > 0 {
            buf.push(b',');
        }
        serde_json::to_writer(&mut buf, &rec).expect("serialize record");
        sink(&buf);
    }
    for rec in body.extra {
        buf.clear();
        buf.push(b',');
        serde_json::to_writer(&mut buf, rec).expect("serialize record");
        sink(&buf);
    }
    sink(b"]}");
    (times[0], times[times.len() - 1])
}

struct Event {
    source: &'static str,
    name: &'static str,
    read_only: bool,
    request: Value,
    response: Value,
    extra: Option<Value>,
    resources: Option<Value>,
    global: bool,
}

fn record(rng: &mut Rng, body: &LogBody<'_>, p: &Principal, s: &Session, t: i64) -> Value {
    let account = body.account;
    let region = body.region;
    let ev = event(rng, account, region, p, t);
    let identity = identity(p, s, account);
    let host = if ev.global {
        format!(
            "{}.amazonaws.com",
            ev.source.trim_end_matches(".amazonaws.com")
        )
    } else {
        format!(
            "{}.{region}.amazonaws.com",
            ev.source.trim_end_matches(".amazonaws.com")
        )
    };
    let aws_region = if ev.global { "us-east-1" } else { region };
    let ip = p.ips[rng.usize(..p.ips.len())].clone();
    let mut r = serde_json::Map::new();
    r.insert("eventVersion".into(), json!("1.11"));
    r.insert("userIdentity".into(), identity);
    r.insert(
        "eventTime".into(),
        json!(format_time(Timestamp::from_second(t).expect("time"))),
    );
    r.insert("eventSource".into(), json!(ev.source));
    r.insert("eventName".into(), json!(ev.name));
    r.insert("awsRegion".into(), json!(aws_region));
    r.insert("sourceIPAddress".into(), json!(ip));
    r.insert("userAgent".into(), json!(user_agent(p.client, &ev)));
    r.insert("requestParameters".into(), ev.request);
    r.insert("responseElements".into(), ev.response);
    if let Some(extra) = ev.extra {
        r.insert("additionalEventData".into(), extra);
    }
    r.insert("requestID".into(), json!(uuid(rng)));
    r.insert("eventID".into(), json!(uuid(rng)));
    r.insert("readOnly".into(), json!(ev.read_only));
    if let Some(res) = ev.resources {
        r.insert("resources".into(), res);
    }
    r.insert("eventType".into(), json!("AwsApiCall"));
    r.insert("managementEvent".into(), json!(true));
    r.insert("recipientAccountId".into(), json!(account));
    r.insert("eventCategory".into(), json!("Management"));
    let (tls, cipher) = if rng.u8(..10) < 8 {
        ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
    } else {
        ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
    };
    r.insert(
        "tlsDetails".into(),
        json!({"tlsVersion": tls, "cipherSuite": cipher, "clientProvidedHostHeader": host}),
    );
    if matches!(p.client, Client::Console) {
        r.insert("sessionCredentialFromConsole".into(), json!("true"));
    }
    Value::Object(r)
}

fn identity(p: &Principal, s: &Session, account: &str) -> Value {
    match &p.kind {
        Kind::IamUser {
            name,
            id,
            access_key,
        } => json!({
            "type": "IAMUser",
            "principalId": id,
            "arn": format!("arn:aws:iam::{account}:user/{name}"),
            "accountId": account,
            "accessKeyId": access_key,
            "userName": name,
        }),
        Kind::Role {
            name,
            path,
            id,
            session,
            ec2,
        } => {
            let mut ctx = json!({
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": id,
                    "arn": format!("arn:aws:iam::{account}:role/{path}{name}"),
                    "accountId": account,
                    "userName": name,
                },
                "webIdFederationData": {},
                "attributes": {
                    "creationDate": format_time(Timestamp::from_second(s.created).expect("time")),
                    "mfaAuthenticated": "false",
                },
            });
            if *ec2 {
                ctx["ec2RoleDelivery"] = json!("2.0");
            }
            json!({
                "type": "AssumedRole",
                "principalId": format!("{id}:{session}"),
                "arn": format!("arn:aws:sts::{account}:assumed-role/{name}/{session}"),
                "accountId": account,
                "accessKeyId": s.access_key,
                "sessionContext": ctx,
            })
        }
    }
}

fn user_agent(c: Client, ev: &Event) -> String {
    let svc = ev
        .source
        .trim_end_matches(".amazonaws.com")
        .replace("monitoring", "cloudwatch");
    match c {
        Client::Cli => format!(
            "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off md/command#{svc}.{}",
            kebab(ev.name)
        ),
        Client::CliV1 => "aws-cli/1.32.69 Python/3.9.18 Linux/5.15.0-1057-aws botocore/1.34.69".to_owned(),
        Client::Console => "AWS Internal".to_owned(),
        Client::Terraform => format!(
            "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/{svc}#1.151.1"
        ),
        Client::GoSdk => "aws-sdk-go/1.50.38 (go1.21.8; linux; amd64)".to_owned(),
        Client::LambdaBoto3 => "Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.209-218.812.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.42".to_owned(),
    }
}

fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(ch.to_ascii_lowercase());
        } else if ch.is_ascii_alphabetic() {
            out.push(ch);
        }
    }
    out
}

const BUCKETS: [&str; 5] = [
    "acme-data-lake-raw",
    "acme-terraform-state",
    "acme-app-assets-prod",
    "acme-athena-results",
    "acme-backups-nightly",
];
const TABLES: [&str; 4] = [
    "orders-prod",
    "sessions",
    "inventory-events",
    "feature-flags",
];
const FUNCTIONS: [&str; 4] = [
    "billing-export",
    "image-resizer",
    "slack-notifier",
    "nightly-cleanup",
];
const PARAMS: [&str; 4] = [
    "/prod/app/db-password",
    "/prod/app/stripe-api-key",
    "/shared/datadog/api-key",
    "/prod/eks/cluster-endpoint",
];

fn event(rng: &mut Rng, account: &str, region: &str, p: &Principal, t: i64) -> Event {
    let at = Timestamp::from_second(t).expect("time");
    let ro = |source, name, request: Value| Event {
        source,
        name,
        read_only: true,
        request,
        response: Value::Null,
        extra: None,
        resources: None,
        global: false,
    };
    // Global services (IAM) only show up in us-east-1 log files.
    let n = if region == "us-east-1" { 22 } else { 20 };
    let pick = match p.kind {
        Kind::Role { ec2: true, .. } => [0, 1, 6, 7, 12, 13][rng.usize(..6)],
        _ => rng.usize(..n),
    };
    match pick {
        0 => ro(
            "ec2.amazonaws.com",
            "DescribeInstances",
            json!({"instancesSet": {}, "filterSet": {"items": [{"name": "tag:eks:cluster-name", "valueSet": {"items": [{"value": "prod"}]}}]}}),
        ),
        1 => ro(
            "ec2.amazonaws.com",
            "DescribeNetworkInterfaces",
            json!({"networkInterfaceIdSet": {"items": [{"networkInterfaceId": format!("eni-0{}", hex(rng, 16))}]}, "filterSet": {}}),
        ),
        2 => ro(
            "ec2.amazonaws.com",
            "DescribeSecurityGroups",
            json!({"securityGroupSet": {}, "securityGroupIdSet": {"items": [{"groupId": format!("sg-0{}", hex(rng, 16))}]}, "filterSet": {}}),
        ),
        3 => {
            let req = uuid(rng);
            Event {
                source: "ec2.amazonaws.com",
                name: "CreateTags",
                read_only: false,
                request: json!({"resourcesSet": {"items": [{"resourceId": format!("i-0{}", hex(rng, 16))}]}, "tagSet": {"items": [{"key": "CostCenter", "value": format!("cc-{}", rng.u32(1000..9999))}]}}),
                response: json!({"requestId": req, "_return": true}),
                extra: None,
                resources: None,
                global: false,
            }
        }
        4 => {
            let role = [
                "github-actions-deploy",
                "OrganizationAccountAccessRole",
                "athena-query-runner",
            ][rng.usize(..3)];
            let session = format!("botocore-session-{}", rng.u64(1_700_000_000..1_800_000_000));
            let role_id = iam_id(rng, "AROA");
            Event {
                source: "sts.amazonaws.com",
                name: "AssumeRole",
                read_only: true,
                request: json!({"roleArn": format!("arn:aws:iam::{account}:role/{role}"), "roleSessionName": session, "durationSeconds": 3600}),
                response: json!({
                    "credentials": {
                        "accessKeyId": format!("ASIA{}", base32ish(rng, 16)),
                        "sessionToken": format!("IQoJb3JpZ2luX2VjE{}", base64ish(rng, 600)),
                        "expiration": (at + jiff::SignedDuration::from_hours(1)).strftime("%b %-d, %Y, %-I:%M:%S %p").to_string(),
                    },
                    "assumedRoleUser": {
                        "assumedRoleId": format!("{role_id}:{session}"),
                        "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
                    },
                }),
                extra: None,
                resources: Some(
                    json!([{"accountId": account, "type": "AWS::IAM::Role", "ARN": format!("arn:aws:iam::{account}:role/{role}")}]),
                ),
                global: false,
            }
        }
        5 => ro("sts.amazonaws.com", "GetCallerIdentity", Value::Null),
        6 | 7 => {
            let key = format!("arn:aws:kms:{region}:{account}:key/{}", uuid(rng));
            let f = FUNCTIONS[rng.usize(..FUNCTIONS.len())];
            let (name, request) = if pick == 6 {
                (
                    "Decrypt",
                    json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:lambda:FunctionArn": format!("arn:aws:lambda:{region}:{account}:function:{f}")}}),
                )
            } else {
                let b = BUCKETS[rng.usize(..BUCKETS.len())];
                (
                    "GenerateDataKey",
                    json!({"keyId": key, "keySpec": "AES_256", "encryptionContext": {"aws:s3:arn": format!("arn:aws:s3:::{b}/{}/{}.parquet", rng.u32(2020..2027), hex(rng, 12))}}),
                )
            };
            Event {
                source: "kms.amazonaws.com",
                name,
                read_only: true,
                request,
                response: Value::Null,
                extra: None,
                resources: Some(
                    json!([{"accountId": account, "type": "AWS::KMS::Key", "ARN": key}]),
                ),
                global: false,
            }
        }
        8 | 9 => {
            let b = BUCKETS[rng.usize(..BUCKETS.len())];
            let (name, request) = if pick == 8 {
                ("ListBuckets", json!({"Host": "s3.amazonaws.com"}))
            } else {
                (
                    ["GetBucketPolicy", "GetBucketAcl", "GetBucketEncryption"][rng.usize(..3)],
                    json!({"bucketName": b, "Host": format!("{b}.s3.{region}.amazonaws.com"), "policy": ""}),
                )
            };
            Event {
                source: "s3.amazonaws.com",
                name,
                read_only: true,
                request,
                response: Value::Null,
                extra: Some(json!({
                    "SignatureVersion": "SigV4",
                    "CipherSuite": "TLS_AES_128_GCM_SHA256",
                    "bytesTransferredIn": 0,
                    "AuthenticationMethod": "AuthHeader",
                    "x-amz-id-2": base64ish(rng, 76),
                    "bytesTransferredOut": rng.u32(200..9000),
                })),
                resources: None,
                global: false,
            }
        }
        10 => ro("lambda.amazonaws.com", "ListFunctions20150331", Value::Null),
        11 => ro(
            "lambda.amazonaws.com",
            "GetFunction20150331v2",
            json!({"functionName": FUNCTIONS[rng.usize(..FUNCTIONS.len())]}),
        ),
        12 => Event {
            source: "logs.amazonaws.com",
            name: "CreateLogStream",
            read_only: false,
            request: json!({"logGroupName": format!("/aws/lambda/{}", FUNCTIONS[rng.usize(..FUNCTIONS.len())]), "logStreamName": format!("{}/[$LATEST]{}", at.strftime("%Y/%m/%d"), hex(rng, 32))}),
            response: Value::Null,
            extra: None,
            resources: None,
            global: false,
        },
        13 => ro(
            "ssm.amazonaws.com",
            "GetParameter",
            json!({"name": PARAMS[rng.usize(..PARAMS.len())], "withDecryption": true}),
        ),
        14 => ro(
            "ecr.amazonaws.com",
            "GetAuthorizationToken",
            json!({"registryIds": [account]}),
        ),
        15 => ro(
            "dynamodb.amazonaws.com",
            "DescribeTable",
            json!({"tableName": TABLES[rng.usize(..TABLES.len())]}),
        ),
        16 => ro(
            "monitoring.amazonaws.com",
            "DescribeAlarms",
            json!({"alarmNamePrefix": pick3(rng, ["prod-", "billing-", "eks-"]), "maxRecords": 100}),
        ),
        17 => ro(
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            json!({"secretId": format!("arn:aws:secretsmanager:{region}:{account}:secret:prod/db-{}", alnum(rng, 6))}),
        ),
        18 => ro(
            "elasticloadbalancing.amazonaws.com",
            "DescribeTargetHealth",
            json!({"targetGroupArn": format!("arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/web-prod/{}", hex(rng, 16))}),
        ),
        19 => {
            let instance = format!("i-0{}", hex(rng, 16));
            let ip = format!("10.{}.{}.{}", rng.u8(0..4), rng.u8(..), rng.u8(1..255));
            Event {
                source: "ec2.amazonaws.com",
                name: "RunInstances",
                read_only: false,
                request: json!({
                    "instancesSet": {"items": [{"imageId": format!("ami-0{}", hex(rng, 16)), "minCount": 1, "maxCount": 1}]},
                    "instanceType": pick3(rng, ["t3.medium", "m7i.large", "c7g.xlarge"]),
                    "blockDeviceMapping": {},
                    "monitoring": {"enabled": false},
                    "disableApiTermination": false,
                    "disableApiStop": false,
                    "clientToken": uuid(rng),
                }),
                response: json!({
                    "requestId": uuid(rng),
                    "reservationId": format!("r-0{}", hex(rng, 16)),
                    "ownerId": account,
                    "groupSet": {},
                    "instancesSet": {"items": [{
                        "instanceId": instance,
                        "instanceState": {"code": 0, "name": "pending"},
                        "privateDnsName": format!("ip-{}.{region}.compute.internal", ip.replace('.', "-")),
                        "privateIpAddress": ip,
                        "subnetId": format!("subnet-0{}", hex(rng, 16)),
                        "vpcId": format!("vpc-0{}", hex(rng, 16)),
                        "launchTime": t * 1000 + rng.i64(0..1000),
                    }]},
                }),
                extra: None,
                resources: None,
                global: false,
            }
        }
        20 => Event {
            global: true,
            ..ro(
                "iam.amazonaws.com",
                "GetRole",
                json!({"roleName": pick3(rng, ["github-actions-deploy", "billing-export-lambda-role", "OrganizationAccountAccessRole"])}),
            )
        },
        _ => Event {
            global: true,
            ..ro(
                "iam.amazonaws.com",
                "ListAttachedRolePolicies",
                json!({"roleName": "github-actions-deploy", "maxItems": 100}),
            )
        },
    }
}

fn pick3(rng: &mut Rng, items: [&'static str; 3]) -> &'static str {
    items[rng.usize(..3)]
}

/// A UUID v4 string from `rng`.
pub(crate) fn uuid(rng: &mut Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub(crate) fn hex(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| rng.digit(16)).collect()
}

pub(crate) fn alnum(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| rng.alphanumeric()).collect()
}

fn upper_alnum(rng: &mut Rng, n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..n).map(|_| A[rng.usize(..A.len())] as char).collect()
}

fn base32ish(rng: &mut Rng, n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    (0..n).map(|_| A[rng.usize(..A.len())] as char).collect()
}

fn base64ish(rng: &mut Rng, n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..n).map(|_| A[rng.usize(..A.len())] as char).collect()
}

fn iam_id(rng: &mut Rng, prefix: &str) -> String {
    format!("{prefix}{}", base32ish(rng, 17))
}

fn public_ip(rng: &mut Rng) -> String {
    const FIRST: [u8; 16] = [
        3, 13, 18, 20, 34, 35, 44, 52, 54, 63, 81, 91, 104, 141, 185, 213,
    ];
    format!(
        "{}.{}.{}.{}",
        FIRST[rng.usize(..FIRST.len())],
        rng.u8(..),
        rng.u8(..),
        rng.u8(1..255)
    )
}

/// The record CloudTrail writes for an API call on the trail itself, made by an administrator
/// with the AWS CLI at `t` (epoch seconds).
pub(crate) fn trail_event(
    event: crate::TrailEvent,
    account: &str,
    home_region: &str,
    trail: &str,
    t: i64,
) -> Value {
    use crate::TrailEvent as E;
    let arn = format!("arn:aws:cloudtrail:{home_region}:{account}:trail/{trail}");
    let (name, request, error) = match event {
        E::StopLogging => ("StopLogging", json!({"name": arn}), None),
        E::StopLoggingDenied => (
            "StopLogging",
            json!({"name": arn}),
            Some((
                "AccessDenied",
                format!(
                    "User: arn:aws:iam::{account}:user/emma.okafor is not authorized to perform: cloudtrail:StopLogging on resource: {arn} because no identity-based policy allows the cloudtrail:StopLogging action"
                ),
            )),
        ),
        E::StartLogging => ("StartLogging", json!({"name": arn}), None),
        E::DeleteTrail => ("DeleteTrail", json!({"name": arn}), None),
        E::CreateTrail => (
            "CreateTrail",
            json!({"name": trail, "s3BucketName": "acme-cloudtrail-logs", "isMultiRegionTrail": true, "enableLogFileValidation": true}),
            None,
        ),
        E::ValidationOff => (
            "UpdateTrail",
            json!({"name": arn, "enableLogFileValidation": false}),
            None,
        ),
        E::ValidationOn => (
            "UpdateTrail",
            json!({"name": arn, "enableLogFileValidation": true}),
            None,
        ),
        E::SingleRegion => (
            "UpdateTrail",
            json!({"name": arn, "isMultiRegionTrail": false}),
            None,
        ),
    };
    let user = if error.is_some() {
        "emma.okafor"
    } else {
        "alice.martin"
    };
    let mut r = json!({
        "eventVersion": "1.11",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAJ45Q7YFFAREXAMPLE",
            "arn": format!("arn:aws:iam::{account}:user/{user}"),
            "accountId": account,
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "userName": user,
        },
        "eventTime": format_time(Timestamp::from_second(t).expect("time")),
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": name,
        "awsRegion": home_region,
        "sourceIPAddress": "198.51.100.23",
        "userAgent": "aws-cli/2.17.0 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#cloudtrail.stop-logging",
        "requestParameters": request,
        "responseElements": null,
        "requestID": "9f3c1d2e-8a7b-4c6d-9e0f-1a2b3c4d5e6f",
        "eventID": "0e1d2c3b-4a59-4867-8f90-a1b2c3d4e5f6",
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management",
    });
    if let Some((code, message)) = error {
        r["errorCode"] = json!(code);
        r["errorMessage"] = json!(message);
    }
    r
}
