namespace NewLlm;

/// <summary>
/// Picks the next token from logits: greedy, or temperature sampling restricted by top-k and top-p.
/// Runs on the CPU over a float array with a seeded <see cref="Random"/>, so results do not depend on the device.
/// </summary>
internal sealed class TokenSampler(GenerationOptions options)
{
    private readonly Random _random = options.Seed is int seed ? new Random(seed) : new Random();

    public int Next(float[] logits)
    {
        if (options.Greedy)
        {
            return ArgMax(logits);
        }

        int[] order = Enumerable.Range(0, logits.Length).ToArray();
        Array.Sort(order, (a, b) => logits[b].CompareTo(logits[a]));
        int keep = options.TopK > 0 ? Math.Min(options.TopK, order.Length) : order.Length;

        double max = logits[order[0]];
        var weights = new double[keep];
        double total = 0;
        for (int i = 0; i < keep; i++)
        {
            weights[i] = Math.Exp((logits[order[i]] - max) / options.Temperature);
            total += weights[i];
        }

        if (options.TopP < 1.0)
        {
            double cumulative = 0;
            int cut = keep;
            for (int i = 0; i < keep; i++)
            {
                cumulative += weights[i] / total;
                if (cumulative >= options.TopP)
                {
                    cut = i + 1;
                    break;
                }
            }

            keep = cut;
            total = weights.Take(keep).Sum();
        }

        double u = _random.NextDouble() * total;
        for (int i = 0; i < keep; i++)
        {
            u -= weights[i];
            if (u <= 0)
            {
                return order[i];
            }
        }

        return order[keep - 1];
    }

    private static int ArgMax(float[] logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }
}
