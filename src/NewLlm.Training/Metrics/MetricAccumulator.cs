namespace NewLlm.Training;

/// <summary>Sums what token-weighted metrics need: total NLL (nats), correct predictions, target tokens and text bytes.</summary>
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

    /// <summary>Adds the sums of one batch.</summary>
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
    }

    /// <summary>Mean NLL per token (NaN when no token was seen).</summary>
    public double MeanLoss => Tokens == 0 ? double.NaN : TotalNll / Tokens;

    /// <summary>The metrics of everything added so far.</summary>
    /// <param name="preferenceAccuracy">Preference accuracy to attach, if computed.</param>
    public EvaluationMetrics ToMetrics(double? preferenceAccuracy = null) => new(
        MeanLoss,
        Tokens == 0 ? double.NaN : (double)Correct / Tokens,
        Bytes == 0 ? double.NaN : TotalNll / Math.Log(2) / Bytes,
        Tokens,
        Bytes,
        preferenceAccuracy);
}
