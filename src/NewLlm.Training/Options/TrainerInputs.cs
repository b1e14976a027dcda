namespace NewLlm.Training;

/// <summary>The trainer's checks of what it is given: the corpora fit the model and each other, and a step fits in memory.</summary>
internal static class TrainerInputs
{
    /// <summary>Throws when the inputs cannot be trained together.</summary>
    /// <exception cref="ArgumentException">The corpora do not fit the model (vocabulary, sequence length) or each other (tokenizer).</exception>
    /// <exception cref="InvalidOperationException">A training step cannot fit (the message names the largest batch size that fits).</exception>
    public static void Check(LanguageModel model, TokenizedCorpus trainData, TokenizedCorpus? validationData, DialogueTokenizer? tokenizer, TokenizedPreferencePairs? preferencePairs, TrainerOptions options)
    {
        if (trainData.Count == 0)
        {
            throw new ArgumentException("The training corpus is empty.", nameof(trainData));
        }

        CheckFits(model, trainData, nameof(trainData));
        if (validationData is not null)
        {
            CheckFits(model, validationData, nameof(validationData));
            if (validationData.PadId != trainData.PadId)
            {
                throw new ArgumentException($"The validation corpus pads with id {validationData.PadId}, the training corpus with {trainData.PadId}: they come from different tokenizers.", nameof(validationData));
            }
        }

        if (preferencePairs is not null && preferencePairs.PadId != trainData.PadId)
        {
            throw new ArgumentException($"The preference pairs pad with id {preferencePairs.PadId}, the training corpus with {trainData.PadId}: they come from different tokenizers.", nameof(preferencePairs));
        }

        if (tokenizer is not null && tokenizer.Fingerprint != trainData.TokenizerFingerprint)
        {
            throw new ArgumentException("The tokenizer is not the one the training corpus was encoded with (fingerprints differ).", nameof(tokenizer));
        }

        if (TrainingMemoryEstimate.ForStep(model, Math.Min(options.BatchSize, trainData.Count), trainData.SequenceLength, options.Precision).CheckFits(options.Device) is string tooLarge)
        {
            throw new InvalidOperationException(tooLarge);
        }
    }

    /// <summary>Refuses (<see cref="NotSupportedException"/>) bfloat16 mixed precision on a device without native bfloat16 products, unless the options allow it slow.</summary>
    public static void CheckPrecision(TrainerOptions options, TorchSharp.torch.Device device)
    {
        if (options.Precision == TrainingPrecision.BFloat16Mixed && !options.AllowSlowBFloat16)
        {
            TorchBackend.EnsureFastBFloat16(device, $"{nameof(TrainerOptions)}.{nameof(TrainerOptions.Precision)} = {nameof(TrainingPrecision.BFloat16Mixed)}", $"set {nameof(TrainerOptions)}.{nameof(TrainerOptions.AllowSlowBFloat16)}");
        }
    }

    private static void CheckFits(LanguageModel model, TokenizedCorpus corpus, string name)
    {
        if (corpus.VocabSize > model.VocabSize)
        {
            throw new ArgumentException($"The corpus uses a vocabulary of {corpus.VocabSize} ids, but the model has VocabSize {model.VocabSize}.", name);
        }

        if (model.MaxSequenceLength is int positions && corpus.SequenceLength - 1 > positions)
        {
            throw new ArgumentException($"The corpus sequences have {corpus.SequenceLength} tokens (TokenizedCorpusOptions.MaxSequenceLength), so a step reads {corpus.SequenceLength - 1} positions, but the {model.ModelType} model has only {positions} (TransformerBaselineOptions.MaxSeqLength): build the model with MaxSeqLength {corpus.SequenceLength - 1} or more, or shorten the sequences.", name);
        }

        if (corpus.SequenceLength < 2)
        {
            throw new ArgumentException($"The corpus sequence length is {corpus.SequenceLength}; at least 2 is needed (input ids[:-1], target ids[1:]).", name);
        }
    }
}
