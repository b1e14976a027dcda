namespace NewLlm.Training;

/// <summary>
/// Sums what the metrics need, one batch at a time: total NLL (nats), correct predictions, target tokens and text
/// bytes for the token-weighted figures, and each batch's mean NLL for the original trainer's mean of batch means.
/// </summary>
public sealed class MetricAccumulator
{
    /// <summary>Total negative log-likelihood in nats.</summary>
    public double TotalNll { get; private set; }

    /// <summary>Number of correct argmax predictions on non-PAD targets.</summary>
    public long Correct { get; private set; }

    /// <summary>Number of non-PAD target tokens.</summary>
    public long Tokens { get; private set; }

    /// <summary>Number of UTF-8 bytes of the text.</summary>
    public long Bytes { get; private set; }

    /// <summary>Number of batches added that had at least one non-PAD target (those that have a mean loss).</summary>
    public int Batches { get; private set; }

    /// <summary>Sum over those batches of each batch's mean NLL per non-PAD target.</summary>
    public double SumOfBatchMeans { get; private set; }

    /// <summary>Adds the sums of one batch (each call is one batch of <see cref="BatchMeanLoss"/>).</summary>
    /// <param name="totalNll">Sum of the NLL of the batch's non-PAD targets (nats).</param>
    /// <param name="correct">Correct predictions among them.</param>
    /// <param name="tokens">Number of non-PAD targets.</param>
    /// <param name="bytes">UTF-8 bytes of the batch's text.</param>
    public void Add(double totalNll, long correct, long tokens, long bytes)
    {
        TotalNll += totalNll;
        Correct += correct;
        Tokens += tokens;
        Bytes += bytes;
        if (tokens > 0)
        {
            // A batch without a counted target has no mean (the original's cross-entropy would make it NaN); it is left out.
            SumOfBatchMeans += totalNll / tokens;
            Batches++;
        }
    }

    /// <summary>Mean NLL per token (NaN when no token was seen).</summary>
    public double MeanLoss => Tokens == 0 ? double.NaN : TotalNll / Tokens;

    /// <summary>The original trainer's figure: the plain mean over batches of each batch's mean NLL (NaN when no batch had a target).</summary>
    public double BatchMeanLoss => Batches == 0 ? double.NaN : SumOfBatchMeans / Batches;

    /// <summary>The metrics of everything added so far.</summary>
    /// <param name="preferenceAccuracy">Preference accuracy (summed log-likelihoods) to attach, if computed.</param>
    /// <param name="perTokenPreferenceAccuracy">Preference accuracy (mean log-likelihood per counted target) to attach, if computed.</param>
    public EvaluationMetrics ToMetrics(double? preferenceAccuracy = null, double? perTokenPreferenceAccuracy = null) => new(
        MeanLoss,
        Tokens == 0 ? double.NaN : (double)Correct / Tokens,
        Bytes == 0 ? double.NaN : TotalNll / Math.Log(2) / Bytes,
        Tokens,
        Bytes,
        preferenceAccuracy,
        BatchMeanLoss,
        perTokenPreferenceAccuracy);
}
