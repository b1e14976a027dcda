using ScottPlot;

namespace NewLlm.Training;

/// <summary>
/// Draws runs side by side, as <c>newllm compare</c> does for New-LLM and the Transformer baseline: validation perplexity
/// against epoch (left) and against wall-clock time (right, the epochs' training and validation seconds added up).
/// </summary>
public static class ComparisonPlotter
{
    /// <summary>Renders the runs' validation perplexity as PNG bytes.</summary>
    /// <param name="runs">Each run's name (the legend) and history, in legend order.</param>
    /// <param name="title">Title prefix.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    public static byte[] Render(IReadOnlyList<KeyValuePair<string, IReadOnlyList<EpochRecord>>> runs, string title, int width = 1200, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Plot byEpoch = multiplot.GetPlot(0);
        Plot byTime = multiplot.GetPlot(1);
        int index = 0;
        foreach ((string name, IReadOnlyList<EpochRecord> history) in runs)
        {
            Color color = new ScottPlot.Palettes.Category10().GetColor(index++);
            double seconds = 0;
            var points = new List<(double Epoch, double Seconds, double Perplexity)>();
            foreach (EpochRecord record in history)
            {
                seconds += record.EpochSeconds;
                if (record.Validation is { } validation)
                {
                    points.Add((record.Epoch, seconds, validation.Perplexity));
                }
            }

            if (points.Count == 0)
            {
                continue;
            }

            double[] ppl = points.Select(p => p.Perplexity).ToArray();
            foreach ((Plot plot, double[] xs) in new[] { (byEpoch, points.Select(p => p.Epoch).ToArray()), (byTime, points.Select(p => p.Seconds).ToArray()) })
            {
                var scatter = plot.Add.Scatter(xs, ppl, color);
                scatter.LegendText = name;
                scatter.LineWidth = 2;
                scatter.MarkerSize = 6;
            }
        }

        foreach ((Plot plot, string xLabel) in new[] { (byEpoch, "epoch"), (byTime, "wall-clock time (s, training and validation)") })
        {
            plot.Title($"{title}: validation perplexity");
            plot.XLabel(xLabel);
            plot.YLabel("validation perplexity");
            plot.ShowLegend(Alignment.UpperRight);
        }

        byEpoch.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        using Image image = multiplot.Render(width, height);
        return image.GetImageBytes(ImageFormat.Png);
    }
}
