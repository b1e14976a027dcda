namespace NewLlm.Training;

/// <summary>Computes the metrics of a model over a whole corpus (dropout off, no gradients): token-weighted, plus the original trainer's mean of batch means.</summary>
public static class Evaluator
{
    /// <summary>
    /// Loss, perplexity, accuracy and bits per byte over every non-PAD target of the corpus (token-weighted), and the
    /// original trainer's loss (<see cref="EvaluationMetrics.BatchMeanLoss"/>: the mean over the corpus's unshuffled
    /// batches of <paramref name="batchSize"/> of each batch's mean loss).
    /// </summary>
    /// <param name="model">The model; put in evaluation mode, and back in training mode afterwards if it was.</param>
    /// <param name="corpus">The corpus.</param>
    /// <param name="batchSize">Sequences per forward pass.</param>
    /// <param name="preferencePairs">Optional pairs for <see cref="EvaluationMetrics.PreferenceAccuracy"/> and <see cref="EvaluationMetrics.PerTokenPreferenceAccuracy"/>.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    public static EvaluationMetrics Evaluate(LanguageModel model, TokenizedCorpus corpus, int batchSize, TokenizedPreferencePairs? preferencePairs = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = torch.no_grad();
            var sums = new MetricAccumulator();
            foreach (LanguageModelBatch batch in corpus.GetBatches(batchSize, shuffle: false, random: null))
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                (Tensor inputs, Tensor targets) = BatchTensors.ToTensors(batch, model.Device);
                using NewLlmLoss loss = model.NextTokenLoss(inputs, targets, corpus.PadId);
                sums.Add(loss.Sum.to_type(ScalarType.Float64).item<double>(), loss.CorrectCount, batch.TargetTokenCount, batch.ByteCount);
            }

            PreferenceAccuracies? preference = preferencePairs is null ? null : PreferenceAccuracies(model, preferencePairs, corpus.PadId, batchSize, cancellationToken);
            return sums.ToMetrics(preference?.Summed, preference?.PerToken);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>Share of pairs whose chosen text has a higher total log-likelihood than the rejected text (ties count as wrong): <see cref="PreferenceAccuracies"/>'s <see cref="PreferenceAccuracies.Summed"/>.</summary>
    /// <inheritdoc cref="PreferenceAccuracies(LanguageModel, TokenizedPreferencePairs, int, int, CancellationToken)" path="/param"/>
    public static double PreferenceAccuracy(LanguageModel model, TokenizedPreferencePairs pairs, int padId, int batchSize, CancellationToken cancellationToken = default) =>
        PreferenceAccuracies(model, pairs, padId, batchSize, cancellationToken).Summed;

    /// <summary>
    /// Both preference accuracies of the pairs: the share whose chosen text has the higher summed log-likelihood, and
    /// the share whose chosen text has the higher mean log-likelihood per counted (non-PAD) target. Ties, and a text
    /// without a counted target, count as wrong. NaN for both when there is no pair.
    /// </summary>
    /// <param name="model">The model; put in evaluation mode, and back in training mode afterwards if it was.</param>
    /// <param name="pairs">Tokenized chosen/rejected pairs.</param>
    /// <param name="padId">The PAD id (ignored targets).</param>
    /// <param name="batchSize">Pairs per forward pass.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    public static PreferenceAccuracies PreferenceAccuracies(LanguageModel model, TokenizedPreferencePairs pairs, int padId, int batchSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (pairs.Count == 0)
        {
            return new PreferenceAccuracies(double.NaN, double.NaN);
        }

        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = torch.no_grad();
            int length = pairs.SequenceLength;
            long preferred = 0, preferredPerToken = 0;
            for (int start = 0; start < pairs.Count; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n = Math.Min(batchSize, pairs.Count - start);
                var chosen = new long[n * length];
                var rejected = new long[n * length];
                for (int i = 0; i < n; i++)
                {
                    Copy(pairs.GetChosen(start + i), chosen.AsSpan(i * length, length), padId);
                    Copy(pairs.GetRejected(start + i), rejected.AsSpan(i * length, length), padId);
                }

                using var scope = NewDisposeScope();
                (Tensor nllChosen, Tensor countChosen) = SequenceNll(model, chosen, n, length, padId);
                (Tensor nllRejected, Tensor countRejected) = SequenceNll(model, rejected, n, length, padId);
                preferred += nllChosen.lt(nllRejected).sum().item<long>();
                // 0 / 0 is NaN, and NaN < x is false: a text without a counted target never wins.
                preferredPerToken += nllChosen.div(countChosen).lt(nllRejected.div(countRejected)).sum().item<long>();
            }

            return new PreferenceAccuracies((double)preferred / pairs.Count, (double)preferredPerToken / pairs.Count);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    private static void Copy(ReadOnlySpan<int> source, Span<long> destination, int padId)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = i < source.Length ? source[i] : padId;
        }
    }

    // Each sequence's summed NLL over its counted targets (ids[:, 1:] that are not PAD), and how many there are.
    private static (Tensor Sum, Tensor Count) SequenceNll(LanguageModel model, long[] ids, int n, int length, int padId)
    {
        Tensor all = torch.tensor(ids, new long[] { n, length }, dtype: ScalarType.Int64).to(model.Device);
        using NewLlmLoss loss = model.NextTokenLoss(all, padId);
        using Scalar pad = padId.ToScalar(); // held: see HeldScalars in NewLlm.Core
        Tensor counted = all.narrow(1, 1, length - 1).ne(pad).sum(dim: 1).to_type(ScalarType.Float64);
        return (loss.TokenLosses.to_type(ScalarType.Float64).sum(dim: 1), counted);
    }
}
