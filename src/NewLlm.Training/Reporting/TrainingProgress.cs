namespace NewLlm.Training;

/// <summary>Where an epoch stands after a batch, as <see cref="TrainingProgressReporter"/> reports it.</summary>
/// <param name="Epoch">The 1-based epoch.</param>
/// <param name="Epochs">The epochs of the run.</param>
/// <param name="Batch">Batches of the epoch done.</param>
/// <param name="Batches">Batches in the epoch.</param>
/// <param name="Loss">The last batch's mean loss per target token.</param>
/// <param name="TokensPerSecond">Target tokens trained per second in this epoch so far (this call of training).</param>
/// <param name="Remaining">The epoch's time left at that pace, or null before it can be told.</param>
public sealed record TrainingProgress(int Epoch, int Epochs, int Batch, int Batches, double Loss, double TokensPerSecond, TimeSpan? Remaining)
{
    /// <summary>The share of the epoch done, 0 to 1.</summary>
    public double Fraction => Batches == 0 ? 1 : (double)Batch / Batches;

    /// <summary>For example <c>epoch 2/6: batch 120/540 (22%), loss 4.7121, 15,300 tok/s, 0:00:41 left</c>.</summary>
    /// <returns>The line.</returns>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"epoch {Epoch}/{Epochs}: batch {Batch}/{Batches} ({100 * Fraction:F0}%), ") + Pace;

    /// <summary>The part <see cref="ConsoleReporter"/>'s live counter shows too: <c>loss 4.7121, 15,300 tok/s, 0:00:41 left</c>.</summary>
    internal string Pace => string.Create(
        CultureInfo.InvariantCulture,
        $"loss {Loss:F4}, {TokensPerSecond:N0} tok/s{(Remaining is TimeSpan left ? $", {left:h\\:mm\\:ss} left" : string.Empty)}");
}
