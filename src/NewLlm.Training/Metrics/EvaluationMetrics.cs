namespace NewLlm.Training;

/// <summary>
/// Metrics over a whole corpus. The primary figures (<see cref="Loss"/>, <see cref="Perplexity"/>,
/// <see cref="Accuracy"/>, <see cref="BitsPerByte"/>) are token-weighted: every non-PAD target token counts once,
/// whichever batch it is in. <see cref="BatchMeanLoss"/> is the figure the original trainer printed (the plain mean
/// of the validation batches' mean losses, which over-weights the tokens of batches with few targets), kept so that
/// a run can be compared with the original's log.
/// </summary>
/// <param name="Loss">Mean negative log-likelihood per target token, in nats (token-weighted).</param>
/// <param name="Accuracy">Share of non-PAD targets whose most likely prediction is right, in [0, 1].</param>
/// <param name="BitsPerByte">Total negative log-likelihood in bits divided by the UTF-8 bytes of the text (tokenizer-independent).</param>
/// <param name="TokenCount">Number of non-PAD target tokens.</param>
/// <param name="ByteCount">Number of UTF-8 bytes of the evaluated text.</param>
/// <param name="PreferenceAccuracy">Share of preference pairs whose chosen text has the higher total (summed) log-likelihood; null when not computed. A sum favours the shorter text.</param>
/// <param name="BatchMeanLoss">
/// The original trainer's validation loss: each batch's mean NLL over its non-PAD targets, then the plain mean over
/// the batches, in the order of the (unshuffled) validation batches; depends on the batch size. NaN when unknown.
/// </param>
/// <param name="PerTokenPreferenceAccuracy">
/// Share of preference pairs whose chosen text has the higher mean log-likelihood per counted (non-PAD) target,
/// the length-normalised form of <see cref="PreferenceAccuracy"/>; null when not computed.
/// </param>
public sealed record EvaluationMetrics(
    double Loss,
    double Accuracy,
    double BitsPerByte,
    long TokenCount,
    long ByteCount,
    double? PreferenceAccuracy = null,
    double BatchMeanLoss = double.NaN,
    double? PerTokenPreferenceAccuracy = null)
{
    /// <summary>Perplexity, exp(<see cref="Loss"/>) (token-weighted).</summary>
    public double Perplexity => Math.Exp(Loss);

    /// <summary>The original trainer's validation perplexity, exp(<see cref="BatchMeanLoss"/>); NaN when unknown.</summary>
    public double BatchMeanPerplexity => Math.Exp(BatchMeanLoss);
}
