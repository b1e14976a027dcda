using System.Diagnostics;

namespace NewLlm.Training;

/// <summary>
/// Reports each batch's <see cref="TrainingProgress"/> (tokens per second and the epoch's time left) to an
/// <see cref="IProgress{T}"/>; it never writes anything itself. <see cref="ConsoleReporter"/> shows the same figures on
/// its live batch counter; the <c>newllm</c> tool prints them as a line every few seconds when its output is redirected.
/// </summary>
/// <param name="progress">Receives the progress after every batch; may be null when only <see cref="Latest"/> is read.</param>
public sealed class TrainingProgressReporter(IProgress<TrainingProgress>? progress = null) : ITrainerCallback
{
    private readonly Stopwatch _watch = new();
    private long _tokens;
    private int _firstBatch;

    /// <summary>The progress after the last batch, or null before the first.</summary>
    public TrainingProgress? Latest { get; private set; }

    /// <inheritdoc />
    public void OnEpochBegin(TrainerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        (_tokens, _firstBatch, Latest) = (0, context.State.BatchesIntoEpoch, null); // a resumed epoch is timed from where it resumed
        _watch.Restart();
    }

    /// <inheritdoc />
    public void OnBatchEnd(TrainerContext context, BatchResult batch)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(batch);
        _tokens += batch.TokenCount;
        double seconds = _watch.Elapsed.TotalSeconds;
        int done = batch.BatchIndex + 1;
        int timed = done - _firstBatch;
        TimeSpan? remaining = timed > 0 && seconds > 0 ? TimeSpan.FromSeconds(Math.Round(seconds / timed * (batch.BatchCount - done))) : null;
        Latest = new TrainingProgress(batch.Epoch, context.Options.Epochs, done, batch.BatchCount, batch.Loss, seconds > 0 ? _tokens / seconds : 0, remaining);
        progress?.Report(Latest);
    }
}
