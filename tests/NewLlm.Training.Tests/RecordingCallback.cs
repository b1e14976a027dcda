
namespace NewLlm.Training.Tests;

/// <summary>Records every event as a short string.</summary>
internal sealed class RecordingCallback : ITrainerCallback
{
    public List<string> Events { get; } = new();

    public List<BatchResult> Batches { get; } = new();

    public void OnTrainBegin(TrainerContext context) => Events.Add("train-begin");

    public void OnEpochBegin(TrainerContext context) => Events.Add($"epoch-begin {context.State.Epoch}");

    public void OnBatchEnd(TrainerContext context, BatchResult batch)
    {
        Batches.Add(batch);
        if (Events.Count == 0 || Events[^1] != $"batches {batch.Epoch}")
        {
            Events.Add($"batches {batch.Epoch}");
        }
    }

    public void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics) => Events.Add($"evaluation {context.State.Epoch}");

    public void OnEpochEnd(TrainerContext context, EpochRecord record) => Events.Add($"epoch-end {record.Epoch}");

    public void OnCheckpointSaved(TrainerContext context, CheckpointInfo checkpoint) => Events.Add($"checkpoint {checkpoint.Kind} {checkpoint.Epoch}");

    public void OnTrainEnd(TrainerContext context, TrainingResult result) => Events.Add($"train-end {result.Outcome}");

    public void OnException(TrainerContext context, Exception exception) => Events.Add($"exception {exception.GetType().Name}");
}
