namespace NewLlm.Training;

/// <summary>
/// Token-weighted metrics over a whole corpus: every non-PAD target token counts once, whichever batch it is in
/// (the original averaged per-batch means, which over-weights the tokens of short batches).
/// </summary>
/// <param name="Loss">Mean negative log-likelihood per target token, in nats.</param>
/// <param name="Accuracy">Share of non-PAD targets whose most likely prediction is right, in [0, 1].</param>
/// <param name="BitsPerByte">Total negative log-likelihood in bits divided by the UTF-8 bytes of the text (tokenizer-independent).</param>
/// <param name="TokenCount">Number of non-PAD target tokens.</param>
/// <param name="ByteCount">Number of UTF-8 bytes of the evaluated text.</param>
/// <param name="PreferenceAccuracy">Share of preference pairs whose chosen text has the higher total log-likelihood; null when not computed.</param>
public sealed record EvaluationMetrics(double Loss, double Accuracy, double BitsPerByte, long TokenCount, long ByteCount, double? PreferenceAccuracy = null)
{
    /// <summary>Perplexity, exp(<see cref="Loss"/>).</summary>
    public double Perplexity => Math.Exp(Loss);
}
