namespace NewLlm.Training;

/// <summary>The model's sizes as the progress JSON's <c>config</c> holds them: the original's attribute names, and the baseline's <c>model_type</c>.</summary>
internal static class ModelConfig
{
    /// <summary>The model's attributes, parameter count included.</summary>
    public static JsonObject Of(LanguageModel model)
    {
        var config = new JsonObject();
        foreach ((string key, object? value) in CheckpointModel.Config(model))
        {
            config[key] = value switch
            {
                int i => JsonValue.Create(i),
                double d => JsonValue.Create(d),
                string text => JsonValue.Create(text),
                _ => null,
            };
        }

        config["parameters"] = model.ParameterCount;
        return config;
    }
}
