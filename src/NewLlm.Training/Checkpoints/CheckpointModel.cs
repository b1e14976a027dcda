namespace NewLlm.Training;

/// <summary>
/// Which model a checkpoint holds (<see cref="CheckpointManifest.ModelType"/> and its options): recorded from a model,
/// checked, described, sized (for the verifier's bounds), compared with a model and rebuilt. The one place of the
/// checkpoint code that knows the architectures; a manifest without a type holds a New-LLM model.
/// </summary>
internal static class CheckpointModel
{
    /// <summary>Records <paramref name="model"/>'s type and options in <paramref name="manifest"/>.</summary>
    public static void Record(CheckpointManifest manifest, LanguageModel model)
    {
        manifest.ModelType = model.ModelType;
        (manifest.ModelOptions, manifest.BaselineOptions) = model switch
        {
            NewLlmModel newLlm => (newLlm.Options.Clone(), (TransformerBaselineOptions?)null),
            TransformerBaselineModel baseline => ((NewLlmOptions?)null, baseline.Options.Clone()),
            _ => throw Unknown(model.ModelType, "the model"),
        };
    }

    /// <summary>Throws an <see cref="InvalidDataException"/> when the manifest's type is unknown, its options missing or invalid.</summary>
    public static void Validate(CheckpointManifest manifest, string path)
    {
        try
        {
            switch (manifest.ModelType)
            {
                case LanguageModel.NewLlmType:
                    (manifest.ModelOptions ?? throw Missing(path, "model_options")).Validate();
                    break;
                case LanguageModel.TransformerBaselineType:
                    (manifest.BaselineOptions ?? throw Missing(path, "baseline_options")).Validate();
                    break;
                default:
                    throw Unknown(manifest.ModelType, path);
            }
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            throw new InvalidDataException($"{path}: the checkpoint's model options are invalid: {ex.Message}", ex);
        }
    }

    /// <summary>The model's sizes in words, for messages.</summary>
    public static string Shape(CheckpointManifest manifest) => manifest.ModelType == LanguageModel.TransformerBaselineType
        ? Shape(manifest.BaselineOptions!)
        : Shape(manifest.ModelOptions!);

    /// <summary>New-LLM's sizes in words.</summary>
    public static string Shape(NewLlmOptions o) =>
        $"vocab {o.VocabSize}, embed {o.EmbedDim}, hidden {o.HiddenDim}, context {o.ContextDim}, layers {o.NumLayers}";

    /// <summary>The baseline's sizes in words.</summary>
    public static string Shape(TransformerBaselineOptions o) =>
        $"Transformer baseline: vocab {o.VocabSize}, embed {o.EmbedDim}, heads {o.NumHeads}, hidden {o.HiddenDim}, layers {o.NumLayers}, positions {o.MaxSeqLength}";

    /// <summary>The parameters of the model the manifest holds, and the elements of its largest tensor.</summary>
    public static (long Parameters, long LargestElements) Size(CheckpointManifest manifest)
    {
        if (manifest.ModelType == LanguageModel.TransformerBaselineType)
        {
            TransformerBaselineOptions b = manifest.BaselineOptions!;
            long ve = b.VocabSize, e = b.EmbedDim, h = b.HiddenDim;
            return (b.ParameterCount, new[] { ve * e, (long)b.MaxSeqLength * e, 3 * e * e, h * e }.Max());
        }

        // The embedding or output layer [V, E] / [V, H], the first layer [H, E + C], a further layer [H, H] (the heads [C, H] are never larger than the first layer).
        NewLlmOptions m = manifest.ModelOptions!;
        long v = m.VocabSize, ne = m.EmbedDim, nh = m.HiddenDim, c = m.ContextDim;
        return (m.ParameterCount, new[] { v * ne, v * nh, nh * (ne + c), m.NumLayers > 1 ? nh * nh : 0 }.Max());
    }

    /// <summary>A new model of the manifest's type and sizes (freshly initialised; the caller loads the weights).</summary>
    public static LanguageModel Create(CheckpointManifest manifest) => manifest.ModelType switch
    {
        LanguageModel.TransformerBaselineType => new TransformerBaselineModel(manifest.BaselineOptions!),
        _ => new NewLlmModel(manifest.ModelOptions!),
    };

    /// <summary>Throws when <paramref name="model"/> is of another type or shape than the manifest's.</summary>
    public static void CheckSame(CheckpointManifest manifest, LanguageModel model, string path)
    {
        string? own = model switch
        {
            NewLlmModel newLlm when manifest.ModelType == LanguageModel.NewLlmType => SameNewLlm(manifest.ModelOptions!, newLlm.Options) ? null : Shape(newLlm.Options),
            TransformerBaselineModel baseline when manifest.ModelType == LanguageModel.TransformerBaselineType => SameBaseline(manifest.BaselineOptions!, baseline.Options) ? null : Shape(baseline.Options),
            NewLlmModel newLlm => Shape(newLlm.Options),
            TransformerBaselineModel baseline => Shape(baseline.Options),
            _ => model.OptionsDescription,
        };
        if (own is not null)
        {
            throw new InvalidDataException(
                $"{path}: the checkpoint holds a {manifest.ModelType} model of another shape ({Shape(manifest)}) than the {model.ModelType} model given ({own}). Create the model from the checkpoint (CheckpointFile.LoadModel(path), or its manifest's ModelType and options).");
        }
    }

    private static bool SameNewLlm(NewLlmOptions saved, NewLlmOptions own) =>
        saved.VocabSize == own.VocabSize && saved.EmbedDim == own.EmbedDim && saved.HiddenDim == own.HiddenDim && saved.ContextDim == own.ContextDim && saved.NumLayers == own.NumLayers;

    private static bool SameBaseline(TransformerBaselineOptions saved, TransformerBaselineOptions own) =>
        saved.VocabSize == own.VocabSize && saved.EmbedDim == own.EmbedDim && saved.HiddenDim == own.HiddenDim && saved.NumHeads == own.NumHeads
        && saved.NumLayers == own.NumLayers && saved.MaxSeqLength == own.MaxSeqLength;

    /// <summary>The original's config attributes for the model (a plain dict, so that a weights-only load reads it): New-LLM's as the original writes them; the baseline's with its <c>model_type</c>.</summary>
    public static Dictionary<string, object?> Config(LanguageModel model) => model switch
    {
        TransformerBaselineModel { Options: var b } => new()
        {
            ["model_type"] = LanguageModel.TransformerBaselineType,
            ["vocab_size"] = b.VocabSize,
            ["embed_dim"] = b.EmbedDim,
            ["num_heads"] = b.NumHeads,
            ["hidden_dim"] = b.HiddenDim,
            ["num_layers"] = b.NumLayers,
            ["max_seq_len"] = b.MaxSeqLength,
            ["dropout"] = b.Dropout,
        },
        NewLlmModel { Options: var m } => new()
        {
            ["vocab_size"] = m.VocabSize,
            ["embed_dim"] = m.EmbedDim,
            ["hidden_dim"] = m.HiddenDim,
            ["context_vector_dim"] = m.ContextDim,
            ["num_layers"] = m.NumLayers,
            ["dropout"] = m.Dropout,
        },
        _ => throw Unknown(model.ModelType, "the model"),
    };

    private static InvalidDataException Missing(string path, string field) =>
        new($"{path}: the checkpoint manifest has no '{field}', so its model cannot be rebuilt. Use another checkpoint of the run or train again.");

    private static InvalidDataException Unknown(string? type, string source) =>
        new($"{source}: model type '{type}' is not one this library builds ({LanguageModel.NewLlmType}, {LanguageModel.TransformerBaselineType}); a newer NewLlm may have written it.");
}
