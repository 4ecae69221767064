//! `nerprep confusion` (MCQM) on a 4-type example, checked against the formulas of seed 001
//! §3.2 computed here directly: with parents from the types file, with a source model's
//! predictions as the hierarchy, with and without dev predictions; and bad input.

use crate::common::{nerprep, nerprep_ok, scratch};
use nerprep::embed::hash::HashEmbedder;
use nerprep::embed::Embedder;
use std::collections::BTreeMap;
use std::path::Path;

const TYPES: [&str; 4] = ["politician", "person", "party", "election"];
const PARENTS: [&str; 4] = ["Person", "Person", "Organisation", "Event"];
const DESCRIPTIONS: [&str; 4] = [
    "A person who holds or seeks political office.",
    "A named human being.",
    "An organised group that seeks political power.",
    "A formal vote to choose a person for office.",
];
const DEV: &str = "gold\\predicted,politician,person,party,election,O\npolitician,6,3,0,0,1\nperson,2,7,0,0,1\nparty,0,0,8,1,1\nelection,0,0,2,5,3\nO,1,0,0,0,0\n";
const SOURCE: &str = "gold\\predicted,PER,ORG,MISC,O\npolitician,8,1,0,1\nperson,9,0,0,1\nparty,0,6,2,2\nelection,0,3,4,3\n";

fn write_inputs(dir: &Path) {
    let types: String = TYPES.iter().zip(PARENTS).map(|(t, p)| format!("{t}: {p}\n")).collect();
    std::fs::write(dir.join("types.yaml"), types).unwrap();
    let desc: String = TYPES.iter().zip(DESCRIPTIONS).map(|(t, d)| format!("{t}: \"{d}\"\n")).collect();
    std::fs::write(dir.join("desc.yaml"), desc).unwrap();
    std::fs::write(dir.join("dev.csv"), DEV).unwrap();
    std::fs::write(dir.join("source.csv"), SOURCE).unwrap();
}

fn run(dir: &Path, out: &str, extra: &[&str]) -> serde_json::Value {
    let p = |f: &str| dir.join(f).display().to_string();
    let mut args = vec!["confusion".to_string(), "--types".into(), p("types.yaml"), "--descriptions".into(), p("desc.yaml"), "--model".into(), "hash:64".into()];
    args.extend(extra.iter().map(|a| if a.ends_with(".csv") { p(a) } else { a.to_string() }));
    args.extend(["-o".to_string(), p(out)]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    nerprep_ok(&refs, 0);
    serde_json::from_str(&std::fs::read_to_string(dir.join(out).join("matrix.json")).unwrap()).unwrap()
}

/// The semantic term: cosines of the hash:64 embeddings of the descriptions.
fn cosines() -> Vec<Vec<f64>> {
    let m = HashEmbedder::new(64).embed(&DESCRIPTIONS).unwrap();
    let rows: Vec<Vec<f64>> = m.rows().map(|r| r.iter().map(|&x| f64::from(x)).collect()).collect();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    rows.iter().map(|a| rows.iter().map(|b| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / (norm(a) * norm(b))).collect()).collect()
}

/// Eq. (10)/(12): exp(w0·u_ij) / Σ_{k≠i} exp(w0·u_ik), 0 on the diagonal.
fn softmax(u: &[Vec<f64>], w0: f64) -> Vec<Vec<f64>> {
    (0..4)
        .map(|i| {
            let denom: f64 = (0..4).filter(|&k| k != i).map(|k| (w0 * u[i][k]).exp()).sum();
            (0..4).map(|j| if j == i { 0.0 } else { (w0 * u[i][j]).exp() / denom }).collect()
        })
        .collect()
}

/// Eq. (2)/(11): count / row total (the `O` column included), over the named columns.
fn rates(csv: &str) -> BTreeMap<(String, String), f64> {
    let mut lines = csv.lines();
    let cols: Vec<&str> = lines.next().unwrap().split(',').skip(1).collect();
    let mut out = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let counts: Vec<f64> = f[1..].iter().map(|c| c.parse().unwrap()).collect();
        let total: f64 = counts.iter().sum();
        for (c, n) in cols.iter().zip(&counts) {
            out.insert((f[0].to_string(), c.to_string()), n / total);
        }
    }
    out
}

fn matrix(v: &serde_json::Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()).collect()
}

fn assert_close(got: &[Vec<f64>], want: &[Vec<f64>], what: &str) {
    for i in 0..4 {
        for j in 0..4 {
            assert!((got[i][j] - want[i][j]).abs() < 1e-9, "{what}[{i}][{j}]: {} vs {}", got[i][j], want[i][j]);
        }
    }
}

#[test]
fn mcqm_with_parents_and_dev_predictions_matches_the_formulas() {
    let dir = scratch("confusion-parents");
    write_inputs(&dir);
    let doc = run(&dir, "out", &["--dev-predictions", "dev.csv"]);
    let (alpha, beta, w0, delta) = (0.5, 0.5, 2.5, 1.0);
    // u_hie(i, j) = δ · R_H(t_i → prefix(t_j)); with parents R_H is 1 for the parent.
    let hie: Vec<Vec<f64>> = (0..4).map(|i| (0..4).map(|j| if PARENTS[i] == PARENTS[j] { delta } else { 0.0 }).collect()).collect();
    let sim = cosines();
    let iml: Vec<Vec<f64>> = (0..4).map(|i| (0..4).map(|j| alpha * hie[i][j] + beta * sim[i][j]).collect()).collect();
    let r = rates(DEV);
    let rm: Vec<Vec<f64>> = TYPES.iter().map(|g| TYPES.iter().map(|p| r[&(g.to_string(), p.to_string())]).collect()).collect();
    let (v_iml, v_exl) = (softmax(&iml, w0), softmax(&rm, w0));
    let total: Vec<Vec<f64>> = (0..4).map(|i| (0..4).map(|j| v_iml[i][j] + v_exl[i][j]).collect()).collect();
    let t = &doc["terms"];
    assert_close(&matrix(&t["hierarchy"]), &hie, "u_hie");
    assert_close(&matrix(&t["semantic"]), &sim, "u_sim");
    assert_close(&matrix(&t["implicit"]), &v_iml, "v_iml");
    assert_close(&matrix(&t["explicit_rate"]), &rm, "R_M");
    assert_close(&matrix(&t["explicit"]), &v_exl, "v_exl");
    assert_close(&matrix(&t["total"]), &total, "v_conf");
    assert_eq!(doc["hierarchy_from"], "parents");
    // Eq. (14): the most confused type, and the files that carry it.
    let most = |i: usize| (0..4).filter(|&j| j != i).max_by(|&a, &b| total[i][a].total_cmp(&total[i][b]).then(b.cmp(&a))).unwrap();
    for i in 0..4 {
        assert_eq!(doc["most_confused"][TYPES[i]], TYPES[most(i)], "{}", TYPES[i]);
    }
    assert_eq!(doc["most_confused"]["politician"], "person");
    let out = dir.join("out");
    let lines: Vec<String> = (0..4).map(|i| format!("{} → {}", TYPES[i], TYPES[most(i)])).collect();
    assert_eq!(std::fs::read_to_string(out.join("confusions.txt")).unwrap(), lines.join("\n") + "\n");
    let hard: BTreeMap<String, Vec<String>> = serde_norway::from_str(&std::fs::read_to_string(out.join("hard-negatives.yaml")).unwrap()).unwrap();
    assert_eq!(hard["politician"], vec!["person".to_string()]);
    let csv = std::fs::read_to_string(out.join("matrix.csv")).unwrap();
    assert!(csv.starts_with("from\\to,politician,person,party,election\npolitician,,"), "{csv}");
    assert!(csv.contains(&format!("{:.6}", total[0][1])), "{csv}");
    assert!(out.join("heatmap.png").is_file() && out.join("provenance.json").is_file());
    let prov: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("provenance.json")).unwrap()).unwrap();
    assert_eq!(prov["stage"], "confusion");
    assert_eq!(prov["inputs"].as_array().unwrap().len(), 3, "types, descriptions, dev predictions");
}

#[test]
fn the_hierarchy_can_come_from_source_predictions_and_the_explicit_term_is_optional() {
    let dir = scratch("confusion-source");
    write_inputs(&dir);
    let doc = run(&dir, "out", &["--source-predictions", "source.csv", "--w0", "1.5"]);
    let r = rates(SOURCE);
    let coarse = ["PER", "ORG", "MISC"];
    // prefix(t) = argmax_s R_H(t → s) over the source types (not O).
    let prefix: Vec<&str> = TYPES.iter().map(|t| *coarse.iter().max_by(|a, b| r[&(t.to_string(), a.to_string())].total_cmp(&r[&(t.to_string(), b.to_string())])).unwrap()).collect();
    assert_eq!(prefix, ["PER", "PER", "ORG", "MISC"]);
    let hie: Vec<Vec<f64>> = (0..4).map(|i| (0..4).map(|j| r[&(TYPES[i].to_string(), prefix[j].to_string())]).collect()).collect();
    let sim = cosines();
    let iml: Vec<Vec<f64>> = (0..4).map(|i| (0..4).map(|j| 0.5 * hie[i][j] + 0.5 * sim[i][j]).collect()).collect();
    let t = &doc["terms"];
    assert_close(&matrix(&t["hierarchy"]), &hie, "u_hie");
    assert_close(&matrix(&t["total"]), &softmax(&iml, 1.5), "v_conf = v_iml without dev predictions");
    assert!(t["explicit"].is_null());
    assert_eq!(doc["hierarchy_from"], "source predictions");
    assert_eq!(t["prefixes"], serde_json::json!(["PER", "PER", "ORG", "MISC"]));
}

#[test]
fn a_subset_of_types_and_bad_input() {
    let dir = scratch("confusion-bad");
    write_inputs(&dir);
    let doc = run(&dir, "sub", &["--labels", "politician,person,party", "--top", "2"]);
    assert_eq!(doc["terms"]["types"], serde_json::json!(["politician", "person", "party"]));
    let txt = std::fs::read_to_string(dir.join("sub/confusions.txt")).unwrap();
    assert_eq!(txt.lines().count(), 6, "two per type: {txt}");
    let p = |f: &str| dir.join(f).display().to_string();
    let base = ["confusion", "--types", &p("types.yaml"), "--descriptions", &p("desc.yaml"), "--model", "hash"];
    let fail = |extra: &[&str], code: i32| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        let out = nerprep(&args);
        assert_eq!(out.status.code(), Some(code), "{extra:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let o = p("x");
    assert!(fail(&["--labels", "person", "-o", &o], 1).contains("1 target type; confusion needs at least two"));
    assert!(fail(&["--labels", "nobody", "-o", &o], 1).contains("`nobody` is not a type of"));
    assert!(fail(&["--w0", "0", "-o", &o], 2).contains("--w0 must be a number > 0"));
    std::fs::write(dir.join("broken.csv"), "gold\\predicted,a\nx,1,2\n").unwrap();
    assert!(fail(&["--dev-predictions", &p("broken.csv"), "-o", &o], 1).contains("line 2: 3 fields, the header has 2"));
    assert!(!dir.join("x").exists());
}
