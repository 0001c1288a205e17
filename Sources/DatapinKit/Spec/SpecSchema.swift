/// The JSON Schema of `datapin.yaml`, identical to `schema/datapin.schema.json` (a test checks),
/// written by `datapin init` into `.datapin/` so editors validate the spec offline.
public enum SpecSchema {
    public static let fileName = "datapin.schema.json"

    public static let json = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "datapin.schema.json",
  "title": "datapin selection spec (datapin.yaml)",
  "type": "object",
  "required": [
    "version",
    "datasets"
  ],
  "additionalProperties": false,
  "properties": {
    "version": {
      "const": 1
    },
    "destination": {
      "type": "string",
      "description": "Root of the synced tree, relative to the spec."
    },
    "layout": {
      "oneOf": [
        {
          "enum": [
            "nested",
            "flat"
          ]
        },
        {
          "type": "string",
          "pattern": "\\{filename\\}"
        }
      ],
      "description": "nested: <dataset>/<file>; flat: <file>; or a template with {archive} {mission} {dataset} {filename} {level} {suffix} {instrument}."
    },
    "duplicates": {
      "enum": [
        "once",
        "link",
        "copy"
      ]
    },
    "manifest": {
      "type": "boolean"
    },
    "case_sensitive": {
      "type": "boolean",
      "description": "true when the destination's file system tells Data.bin from data.bin; by default paths differing only in case are refused."
    },
    "archives": {
      "type": "object",
      "additionalProperties": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "type": {
            "enum": [
              "mast",
              "eso",
              "scicat",
              "index"
            ]
          },
          "url": {
            "type": "string"
          },
          "token_env": {
            "type": "string",
            "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
            "description": "Name of an environment variable (never the secret itself)."
          },
          "username_env": {
            "type": "string",
            "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
            "description": "Name of an environment variable (never the secret itself)."
          },
          "password_env": {
            "type": "string",
            "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
            "description": "Name of an environment variable (never the secret itself)."
          },
          "files": {
            "type": "string",
            "description": "SciCat: https://host/prefix, sftp://host or file:///mount."
          }
        }
      }
    },
    "select": {
      "$ref": "#/$defs/select"
    },
    "datasets": {
      "type": "array",
      "items": {
        "type": "object",
        "required": [
          "archive"
        ],
        "additionalProperties": false,
        "properties": {
          "archive": {
            "type": "string"
          },
          "mission": {
            "type": "string"
          },
          "ids": {
            "oneOf": [
              {
                "type": [
                  "string",
                  "number"
                ]
              },
              {
                "type": "array",
                "items": {
                  "type": [
                    "string",
                    "number"
                  ]
                }
              }
            ]
          },
          "where": {
            "type": "object",
            "additionalProperties": {
              "oneOf": [
                {
                  "type": [
                    "string",
                    "number"
                  ]
                },
                {
                  "type": "array",
                  "items": {
                    "type": [
                      "string",
                      "number"
                    ]
                  }
                }
              ]
            }
          },
          "obsids": {
            "oneOf": [
              {
                "type": [
                  "string",
                  "number"
                ]
              },
              {
                "type": "array",
                "items": {
                  "type": [
                    "string",
                    "number"
                  ]
                }
              }
            ]
          },
          "adql": {
            "type": "string"
          },
          "pids": {
            "oneOf": [
              {
                "type": "string"
              },
              {
                "type": "array",
                "items": {
                  "type": "string"
                }
              }
            ]
          },
          "calibrations": {
            "enum": [
              "none",
              "raw2raw",
              "raw2master"
            ]
          },
          "select": {
            "$ref": "#/$defs/select"
          }
        }
      }
    }
  },
  "$defs": {
    "select": {
      "type": "object",
      "description": "Filters: values inside one key are OR-ed, keys are AND-ed; an absent key filters nothing (guidestar and calibration_references default to false).",
      "additionalProperties": false,
      "properties": {
        "levels": {
          "oneOf": [
            {
              "type": [
                "string",
                "number"
              ]
            },
            {
              "type": "array",
              "items": {
                "type": [
                  "string",
                  "number"
                ]
              }
            }
          ],
          "description": "Product levels or categories: 1b 2a 2b 3, CALIBRATED, 2 (CAOM calib_level); case-insensitive."
        },
        "suffixes": {
          "oneOf": [
            {
              "type": "string"
            },
            {
              "type": "array",
              "items": {
                "type": "string"
              }
            }
          ],
          "description": "File suffixes; \"cal\", \"_cal\" and \"CAL\" are the same."
        },
        "extensions": {
          "oneOf": [
            {
              "type": "string"
            },
            {
              "type": "array",
              "items": {
                "type": "string"
              }
            }
          ],
          "description": "File name endings such as .fits or .fits.gz."
        },
        "types": {
          "oneOf": [
            {
              "enum": [
                "science",
                "exposure",
                "auxiliary",
                "preview",
                "info",
                "reference",
                "association"
              ]
            },
            {
              "type": "array",
              "items": {
                "enum": [
                  "science",
                  "exposure",
                  "auxiliary",
                  "preview",
                  "info",
                  "reference",
                  "association"
                ]
              }
            }
          ],
          "description": "Product types (case-insensitive in the spec)."
        },
        "match": {
          "oneOf": [
            {
              "type": "string"
            },
            {
              "type": "array",
              "items": {
                "type": "string"
              }
            }
          ],
          "description": "Case-insensitive substrings of the file name, instrument or filters."
        },
        "include": {
          "oneOf": [
            {
              "type": "string"
            },
            {
              "type": "array",
              "items": {
                "type": "string"
              }
            }
          ],
          "description": "Regular expressions (JavaScript-like); a file name must match one."
        },
        "exclude": {
          "oneOf": [
            {
              "type": "string"
            },
            {
              "type": "array",
              "items": {
                "type": "string"
              }
            }
          ],
          "description": "Regular expressions; a file name must match none."
        },
        "recommended": {
          "type": "boolean",
          "description": "true: minimum recommended products only."
        },
        "guidestar": {
          "type": "boolean",
          "description": "Guide-star files are out unless true."
        },
        "calibration_references": {
          "type": "boolean",
          "description": "Pipeline reference files are out unless true."
        },
        "access": {
          "oneOf": [
            {
              "enum": [
                "public",
                "exclusive"
              ]
            },
            {
              "type": "array",
              "items": {
                "enum": [
                  "public",
                  "exclusive"
                ]
              }
            }
          ]
        },
        "max_size": {
          "oneOf": [
            {
              "type": "integer",
              "minimum": 0
            },
            {
              "type": "string",
              "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*([kKMGTP]i?B|B|bytes?)?\\s*$"
            }
          ],
          "description": "Largest file to take: bytes, or \"2 GB\", \"500 MiB\"."
        }
      }
    }
  }
}
"""#
}
