namespace NewLlm;

/// <summary>
/// The weights of a model whose context vector is widened (<see cref="NewLlmModel.ExpandContext"/>): the blocks that
/// touch the context (the first layer's context columns, the context update, both gates, the LayerNorm) grow, all
/// else is copied. Context dimension j of the wider model is old dimension j for j &lt; C, so the old dimensions stay
/// the first C (what freezing them relies on).
/// </summary>
internal static class ContextExpander
{
    private static readonly string[] Heads = ["context_update", "forget_gate", "input_gate"];

    public static NewLlmModel Expand(NewLlmModel model, int newContextDim, ContextExpansion method, double noiseStd, long? seed)
    {
        int c = model.Options.ContextDim, e = model.Options.EmbedDim;
        if (newContextDim <= c)
        {
            throw new ArgumentOutOfRangeException(nameof(newContextDim), newContextDim, $"The new context size must be larger than the model's {c}.");
        }

        if (method == ContextExpansion.Replicate && newContextDim % c != 0)
        {
            throw new ArgumentException(
                $"Replication preserves the model's function only when the new context size is a multiple of the old one; {newContextDim} is not a multiple of {c}. Use a multiple (for example {2 * c}), or ContextExpansion.Original, which does not preserve it.",
                nameof(newContextDim));
        }

        if (!(noiseStd >= 0 && double.IsFinite(noiseStd)))
        {
            throw new ArgumentOutOfRangeException(nameof(noiseStd), noiseStd, "The noise must be a finite number, zero or more.");
        }

        if (noiseStd > 0 && method != ContextExpansion.Replicate)
        {
            throw new ArgumentException("Noise breaks the symmetry of replicated dimensions; ContextExpansion.Original has none to break.", nameof(noiseStd));
        }

        NewLlmOptions options = model.Options.Clone();
        options.ContextDim = newContextDim;
        options.Seed = null;
        int k = newContextDim / c;
        using Generator? generator = seed is long s ? new Generator(unchecked((ulong)s), model.Device) : null;
        using Scalar copies = k.ToScalar();
        return DerivedModel.Create(model, options, (name, parameter, old) =>
        {
            Tensor source = old!;
            if (name == "fnn_layers.0.weight")
            {
                // [H, E + C]: the embedding columns as they are, then the context columns.
                Tensor context = source.narrow(1, e, c);
                Tensor wide = method == ContextExpansion.Original
                    ? cat([context, zeros(source.shape[0], newContextDim - c, dtype: source.dtype, device: source.device)], 1)
                    : context.repeat(1, k).div(copies);
                parameter.copy_(cat([source.narrow(1, 0, e), wide], 1));
            }
            else if (Heads.Any(h => name.StartsWith(h + ".", StringComparison.Ordinal)))
            {
                // [C, H] weights and [C] biases: rows are context dimensions.
                Tensor wide = method == ContextExpansion.Original ? Pad(source, newContextDim, 0.0) : Tile(source, k);
                if (noiseStd > 0 && name.EndsWith(".weight", StringComparison.Ordinal))
                {
                    Tensor noise = empty_like(wide).normal_(0.0, noiseStd, generator);
                    noise.narrow(0, 0, c).zero_(); // the first copy stays the trained dimension
                    wide = wide.add(noise, HeldScalars.One);
                }

                parameter.copy_(wide);
            }
            else if (name.StartsWith("context_norm.", StringComparison.Ordinal))
            {
                bool isWeight = name.EndsWith(".weight", StringComparison.Ordinal);
                parameter.copy_(method == ContextExpansion.Original ? Pad(source, newContextDim, isWeight ? 1.0 : 0.0) : Tile(source, k));
            }
            else
            {
                parameter.copy_(source);
            }
        });
    }

    // The rows of a [C, ...] tensor followed by rows of a constant up to the new size.
    private static Tensor Pad(Tensor source, int rows, double value)
    {
        long[] shape = [.. source.shape];
        shape[0] = rows - source.shape[0];
        using Scalar fill = value.ToScalar();
        return cat([source, full(shape, fill, dtype: source.dtype, device: source.device)], 0);
    }

    // The rows of a [C, ...] tensor repeated k times: new row j is old row j mod C.
    private static Tensor Tile(Tensor source, int k) => source.dim() == 1 ? source.repeat(k) : source.repeat(k, 1);
}
