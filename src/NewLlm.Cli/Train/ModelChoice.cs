namespace NewLlm.Cli;

/// <summary>
/// Which model newllm train trains (<c>--model new-llm</c>, the default, or <c>--model transformer</c>: the original's
/// GPT-style baseline) and the options that belong to only one of them: New-LLM's growth and context options are refused
/// for the baseline, the baseline's heads and parameter matching for New-LLM, each by its name.
/// </summary>
internal static class ModelChoice
{
    /// <summary>The <c>--model</c> value of the baseline.</summary>
    public const string Transformer = "transformer";

    /// <summary>The <c>--model</c> value of New-LLM (the default).</summary>
    public const string NewLlm = "new-llm";

    /// <summary>The baseline's heads when <c>--num_heads</c> is not given.</summary>
    public const int DefaultHeads = 4;

    /// <summary>
    /// Whether the run trains the baseline: a resumed run's model is its checkpoint's (a different explicit <c>--model</c>
    /// is refused), a new run's is <c>--model</c>'s. Refuses the options of the other model.
    /// </summary>
    public static bool IsTransformer(ParseResult parse, TrainCommand command, ResumePoint? point, string? resumePath)
    {
        bool given = !CommandLine.IsImplicit(parse, command.ModelKind);
        bool transformer = parse.GetValue(command.ModelKind) == Transformer;
        if (resumePath is not null && point is not null)
        {
            if (given && transformer != point.IsTransformer)
            {
                throw new ArgumentException($"--model {parse.GetValue(command.ModelKind)}: {resumePath} holds a {(point.IsTransformer ? Transformer : NewLlm)} model, which a resumed run keeps. Leave --model out, or start a new run in another --output.");
            }

            transformer = point.IsTransformer;
        }
        else if (point is { IsTransformer: true })
        {
            throw new ArgumentException("--from starts a New-LLM run from a New-LLM checkpoint's weights (to grow it); its checkpoint holds a Transformer baseline. Resume it with --resume, or start a new baseline run without --from.");
        }

        RefuseOptionsOfTheOther(parse, command, transformer);
        return transformer;
    }

    /// <summary>Refuses, by name, New-LLM's options for the baseline (<paramref name="transformer"/>) and the baseline's for New-LLM.</summary>
    public static void RefuseOptionsOfTheOther(ParseResult parse, TrainCommand command, bool transformer)
    {
        if (transformer)
        {
            Option[] newLlmOnly = [command.From, command.Vocabulary, command.ExpandContext, command.Expansion, command.FreezeBaseDims, command.ContextDim];
            if (newLlmOnly.FirstOrDefault(o => !CommandLine.IsImplicit(parse, o)) is Option refused)
            {
                throw new ArgumentException($"{refused.Name} is a New-LLM option (its context vector and growth); --model transformer has none. Leave {refused.Name} out, or train --model new-llm.");
            }
        }
        else if (((Option[])[command.NumHeads, command.MatchParamsOf]).FirstOrDefault(o => !CommandLine.IsImplicit(parse, o)) is Option baselineOnly)
        {
            string what = baselineOnly == command.NumHeads ? "New-LLM has no attention heads" : "it sizes a Transformer baseline to match a New-LLM model";
            throw new ArgumentException($"{baselineOnly.Name} is for --model transformer (the attention baseline); {what}. Add --model transformer, or leave {baselineOnly.Name} out.");
        }
    }

    /// <summary>
    /// The baseline of a new run: <paramref name="layers"/> blocks, <paramref name="heads"/> heads and <paramref name="positions"/>
    /// positions; the original's width (embedding 256, FFN 1024), or with <paramref name="matchParamsOf"/> the width whose
    /// parameter count is within 5% of that New-LLM model's (<see cref="TransformerBaselineOptions.MatchingParameterCount"/>).
    /// </summary>
    public static TransformerBaselineOptions Baseline(int vocabSize, int layers, int? heads, int positions, string? matchParamsOf, bool layersGiven)
    {
        int h = heads ?? DefaultHeads;
        if (h < 1)
        {
            throw new ArgumentException($"--num_heads must be at least 1, not {h}.");
        }

        if (matchParamsOf is null)
        {
            var original = new TransformerBaselineOptions { VocabSize = vocabSize, NumHeads = h, NumLayers = layers, MaxSeqLength = positions };
            if (original.EmbedDim % h != 0)
            {
                int[] divisors = [.. Enumerable.Range(1, 16).Where(d => original.EmbedDim % d == 0)];
                throw new ArgumentException($"--num_heads {h} does not divide the baseline's embedding width {original.EmbedDim} (each head takes an equal share): give one of {string.Join(", ", divisors)}, or add --match-params-of, which picks a width that {h} heads divide.");
            }

            return original.Validate();
        }

        NewLlmOptions newLlm = ParseNewLlm(matchParamsOf, vocabSize);
        try
        {
            return TransformerBaselineOptions.MatchingParameterCount(newLlm, h, layersGiven ? layers : null, positions);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"--match-params-of {matchParamsOf}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Refuses <c>--match-params-of</c> on a resumed run when the width it picks is not the checkpoint's model's (a resumed
    /// run keeps its model); the same value, as the same command given again passes it, is accepted.
    /// </summary>
    public static void RefuseChangedMatch(string matchParamsOf, TransformerBaselineOptions saved, string resumePath)
    {
        if (!IsMatch(matchParamsOf, saved, out TransformerBaselineOptions matched))
        {
            throw new ArgumentException($"--match-params-of {matchParamsOf} picks embedding {matched.EmbedDim} and FFN {matched.HiddenDim}, but the model in {resumePath} has embedding {saved.EmbedDim} and FFN {saved.HiddenDim}: a resumed run keeps its model. Leave --match-params-of out to continue the run, or start a new run in another --output.");
        }
    }

    /// <summary>
    /// Whether <paramref name="saved"/> (a checkpoint's baseline) has the width <c>--match-params-of</c>
    /// <paramref name="matchParamsOf"/> picks for its vocabulary, blocks, heads and positions (<paramref name="matched"/>).
    /// </summary>
    public static bool IsMatch(string matchParamsOf, TransformerBaselineOptions saved, out TransformerBaselineOptions matched)
    {
        matched = Baseline(saved.VocabSize, saved.NumLayers, saved.NumHeads, saved.MaxSeqLength, matchParamsOf, layersGiven: true);
        return matched.EmbedDim == saved.EmbedDim && matched.HiddenDim == saved.HiddenDim;
    }

    /// <summary>The line that says both counts: the New-LLM model's and the matched baseline's.</summary>
    public static string MatchReport(string matchParamsOf, TransformerBaselineOptions baseline)
    {
        NewLlmOptions newLlm = ParseNewLlm(matchParamsOf, baseline.VocabSize);
        double difference = (baseline.ParameterCount - newLlm.ParameterCount) / (double)newLlm.ParameterCount;
        return string.Create(CultureInfo.InvariantCulture,
            $"Parameters: New-LLM ({matchParamsOf}, vocab {newLlm.VocabSize}) {newLlm.ParameterCount:N0}; Transformer baseline (embed {baseline.EmbedDim}, hidden {baseline.HiddenDim}, {baseline.NumLayers} layer(s), {baseline.NumHeads} heads, {baseline.MaxSeqLength} positions) {baseline.ParameterCount:N0} ({difference:+0.0%;-0.0%}).");
    }

    /// <summary>
    /// A New-LLM model's sizes from <c>key=value</c> pairs separated by commas (<c>num_layers=1,context_dim=256</c>; also
    /// <c>embed_dim</c>, <c>hidden_dim</c>), the others New-LLM's defaults and the run's vocabulary.
    /// </summary>
    public static NewLlmOptions ParseNewLlm(string text, int vocabSize)
    {
        var options = new NewLlmOptions { VocabSize = vocabSize };
        string[] pairs = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (pairs.Length == 0)
        {
            throw new ArgumentException($"--match-params-of '{text}' names no New-LLM size; write for example --match-params-of \"num_layers=1,context_dim=256\".");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string pair in pairs)
        {
            string[] parts = pair.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int value))
            {
                throw new ArgumentException($"--match-params-of '{text}': '{pair}' is not key=number; write for example --match-params-of \"num_layers=1,context_dim=256\".");
            }

            string key = parts[0].Replace('-', '_');
            if (!seen.Add(key))
            {
                throw new ArgumentException($"--match-params-of '{text}' gives {key} twice; give each size once.");
            }

            switch (key)
            {
                case "num_layers": options.NumLayers = value; break;
                case "context_dim": options.ContextDim = value; break;
                case "embed_dim": options.EmbedDim = value; break;
                case "hidden_dim": options.HiddenDim = value; break;
                default:
                    throw new ArgumentException($"--match-params-of '{text}': unknown New-LLM option '{parts[0]}'; use num_layers, context_dim, embed_dim or hidden_dim.");
            }
        }

        try
        {
            return options.Validate();
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            throw new ArgumentException($"--match-params-of '{text}': {ex.Message}", ex);
        }
    }
}
