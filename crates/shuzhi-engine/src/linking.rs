//! The linking step as a DataFusion operator: [`LinkExec`] reads every row of its input, links
//! them under a `[match]` spec (`shuzhi-match`) and emits them again with the cluster each
//! belongs to, so entity resolution is one node of the same physical plan as the rest.
//!
//! Linking needs all records before the first cluster is known (a pair can join any two rows),
//! so the node is a pipeline breaker over one output partition: it holds its input's rows
//! (prepared column-wise, a few dozen bytes per record and field) but never all candidate
//! pairs, which are generated and scored block by block.

use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, collect,
};
use futures::{StreamExt, TryStreamExt};
use shuzhi_match::{Linker, MatchError, MatchSpec};

use crate::EngineError;

/// Output column: the record's cluster, as the row number (in the node's input order) of the
/// cluster's first record. Equal values are one entity.
pub const CLUSTER_COLUMN: &str = "_cluster";
/// Output column: the valid ID its cluster holds (the entity's key, stable across runs), null
/// for a cluster without one.
pub const ENTITY_KEY_COLUMN: &str = "_entity_key";

/// Links its input's rows and adds [`CLUSTER_COLUMN`] and [`ENTITY_KEY_COLUMN`].
#[derive(Debug)]
pub struct LinkExec {
    input: Arc<dyn ExecutionPlan>,
    spec: Arc<MatchSpec>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl LinkExec {
    /// A node linking `input`'s rows under `spec`; the spec's columns must be in the input.
    pub fn try_new(input: Arc<dyn ExecutionPlan>, spec: MatchSpec) -> Result<Self, EngineError> {
        spec.validate()?;
        let input_schema = input.schema();
        let columns = spec
            .compare
            .iter()
            .map(|c| &c.column)
            .chain(spec.source.as_ref());
        for column in columns {
            if input_schema.field_with_name(column).is_err() {
                return Err(MatchError::Input(format!(
                    "[match] names `{column}`, which the linked rows do not have"
                ))
                .into());
            }
        }
        let mut fields: Vec<Arc<Field>> = input_schema.fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new(
            CLUSTER_COLUMN,
            DataType::UInt64,
            false,
        )));
        fields.push(Arc::new(Field::new(
            ENTITY_KEY_COLUMN,
            DataType::Utf8,
            true,
        )));
        let schema = Arc::new(Schema::new(fields));
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Ok(LinkExec {
            input,
            spec: Arc::new(spec),
            schema,
            properties: Arc::new(properties),
        })
    }
}

impl DisplayAs for LinkExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let columns: Vec<&str> = self
            .spec
            .compare
            .iter()
            .map(|c| c.column.as_str())
            .collect();
        write!(
            f,
            "LinkExec: compare=[{}], blocking rules={}",
            columns.join(", "),
            self.spec.blocking.len()
        )
    }
}

impl ExecutionPlan for LinkExec {
    fn name(&self) -> &str {
        "LinkExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [input] = <[_; 1]>::try_from(children).map_err(|c: Vec<_>| {
            DataFusionError::Internal(format!("LinkExec takes one input, not {}", c.len()))
        })?;
        let node = LinkExec::try_new(input, (*self.spec).clone())
            .map_err(|e| DataFusionError::Plan(e.to_string()))?;
        Ok(Arc::new(node))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "LinkExec has one output partition, not {partition}"
            )));
        }
        let input: Arc<dyn ExecutionPlan> = if self
            .input
            .properties()
            .output_partitioning()
            .partition_count()
            > 1
        {
            Arc::new(CoalescePartitionsExec::new(self.input.clone()))
        } else {
            self.input.clone()
        };
        let spec = self.spec.clone();
        let schema = self.schema.clone();
        let batch_size = context.session_config().batch_size();
        let linked = async move {
            let input_schema = input.schema();
            let batches = collect(input, context).await?;
            let rows = concat_batches(&input_schema, &batches)?;
            drop(batches);
            // Linking is CPU-bound (rayon inside): keep it off the async workers.
            let clusters = tokio::task::spawn_blocking(move || {
                let linker = Linker::new(&spec, &rows)
                    .map_err(|e| DataFusionError::Execution(e.to_string()))?;
                let model = linker.train();
                let clusters = linker.link(&model).clusters;
                let keys: StringArray = linker.entity_keys(&clusters).into_iter().collect();
                let clusters: UInt64Array = clusters.into_iter().map(u64::from).collect();
                Ok::<_, DataFusionError>((rows, clusters, keys))
            })
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))??;
            let (rows, clusters, keys) = clusters;
            let mut columns: Vec<ArrayRef> = rows.columns().to_vec();
            columns.push(Arc::new(clusters));
            columns.push(Arc::new(keys));
            let out = RecordBatch::try_new(schema, columns)?;
            let slices: Vec<Result<RecordBatch>> = (0..out.num_rows())
                .step_by(batch_size.max(1))
                .map(|at| Ok(out.slice(at, batch_size.min(out.num_rows() - at))))
                .collect();
            Ok::<_, DataFusionError>(futures::stream::iter(slices))
        };
        let stream = futures::stream::once(linked).try_flatten().boxed();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use arrow::array::{Array, AsArray};
    use datafusion::prelude::SessionContext;
    use shuzhi_match::{CompareKind, CompareSpec, evaluate};
    use shuzhi_sample::matching::MatchSet;

    fn compare(column: &str, kind: CompareKind) -> CompareSpec {
        CompareSpec {
            column: column.into(),
            kind,
            term_frequency: false,
            m: None,
            u: None,
        }
    }

    fn spec() -> MatchSpec {
        MatchSpec {
            compare: vec![
                compare("id_number", CompareKind::Id),
                compare("name", CompareKind::PersonName),
                compare("birth_date", CompareKind::Date),
                compare("phone", CompareKind::Phone),
                compare("address", CompareKind::Address),
            ],
            blocking: vec![
                vec!["id_number".into()],
                vec!["birth_date".into(), "surname:name".into()],
                vec!["phone".into()],
            ],
            correlated: vec![vec!["phone".into(), "address".into()]],
            match_probability: 0.99,
            review_probability: 0.5,
            max_block: 1000,
            max_cluster: 20,
            source: Some("source".into()),
            link_only: false,
            one_per_source: false,
        }
    }

    #[tokio::test]
    async fn the_node_links_every_row_of_a_partitioned_input() {
        let batch = MatchSet::generate(1_000, 3).to_batch();
        let ctx = SessionContext::new();
        // Two partitions in, one out.
        let half = batch.num_rows() / 2;
        let parts = vec![
            vec![batch.slice(0, half)],
            vec![batch.slice(half, batch.num_rows() - half)],
        ];
        let table =
            datafusion::datasource::MemTable::try_new(batch.schema(), parts).expect("mem table");
        let df = ctx.read_table(Arc::new(table)).expect("read");
        let plan = df.create_physical_plan().await.expect("plan");
        let node = Arc::new(LinkExec::try_new(plan, spec()).expect("node"));
        let shown = datafusion::physical_plan::displayable(node.as_ref())
            .indent(false)
            .to_string();
        assert!(shown.starts_with("LinkExec: compare=[id_number"), "{shown}");
        let out = collect(node, ctx.task_ctx()).await.expect("linked");
        let out = concat_batches(&out[0].schema(), &out).expect("one batch");
        assert_eq!(out.num_rows(), batch.num_rows(), "every row comes out once");
        let truth: Vec<&str> = out
            .column_by_name("entity")
            .expect("entity")
            .as_string::<i32>()
            .iter()
            .map(Option::unwrap_or_default)
            .collect();
        let clusters = out
            .column_by_name(CLUSTER_COLUMN)
            .expect("cluster")
            .as_primitive::<arrow::datatypes::UInt64Type>()
            .values()
            .to_vec();
        let e = evaluate(&truth, &clusters);
        assert!(e.pairwise.f1 >= 0.98, "{e:?}");
        // Records of one cluster share its entity key; most clusters have one.
        let keys = out
            .column_by_name(ENTITY_KEY_COLUMN)
            .expect("entity key")
            .as_string::<i32>();
        let mut seen = std::collections::HashMap::new();
        for (i, c) in clusters.iter().enumerate() {
            let key = keys.is_valid(i).then(|| keys.value(i));
            assert_eq!(*seen.entry(*c).or_insert(key), key, "row {i}");
        }
        assert!(
            keys.null_count() * 10 < keys.len(),
            "{} of {} keys null",
            keys.null_count(),
            keys.len()
        );
    }

    #[test]
    fn a_spec_comparing_a_missing_column_is_refused_at_planning() {
        let batch = MatchSet::generate(10, 3).to_batch();
        let schema = batch.schema();
        let input = Arc::new(datafusion::physical_plan::empty::EmptyExec::new(schema));
        let mut bad = spec();
        bad.compare.push(compare("passport", CompareKind::Exact));
        let err = LinkExec::try_new(input, bad).expect_err("no passport column");
        assert!(err.to_string().contains("`passport`"), "{err}");
    }
}
